/* test_cgroup_path.c: the kubepods path classifier (agent/collect-cgroup-path.h)
 * for both kubelet cgroup drivers.
 *
 * cgroupfs: kubepods, kubepods/burstable, kubepods/besteffort, guaranteed
 * kubepods/pod<uid>, burstable and besteffort pods, and containers under
 * each. systemd: kubepods.slice, the QoS slices, pod slices with the uid's
 * dashes written as underscores (restored in the result), guaranteed pods
 * directly under kubepods.slice, and cri-containerd-, crio- and docker-
 * scopes; crio-conmon- scopes are monitors, not containers. Junk (too deep,
 * bad uid characters, "..", empty names, wrong prefixes or suffixes, mixed
 * drivers) must come out as OTHER with no uid or id left behind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/collect-cgroup-path.h"

#define UID "1e4a3c52-9f3b-4c6e-8a2d-5b7f0e9d1c2a"
#define UID_SYSTEMD "1e4a3c52_9f3b_4c6e_8a2d_5b7f0e9d1c2a"
#define CID "4f1c5d0b8e2a7c3f9d6b1a0e5c8f2d7b3a9e6c1f0d4b8a2e7c5f3d9b1a6e0c8f"

static void expect(const char *path, enum cgroup_kind kind, enum pod_qos qos, const char *uid, const char *id,
		   const char *runtime)
{
	struct cgroup_identity got;
	memset(&got, 0x5a, sizeof(got)); /* the classifier must clear everything */
	cgroup_path_classify(path, &got);
	if (got.kind != kind)
		fail_msg("%s: kind %s, want %s", path, cgroup_kind_name(got.kind), cgroup_kind_name(kind));
	if (got.qos != qos)
		fail_msg("%s: qos %s, want %s", path, pod_qos_name(got.qos), pod_qos_name(qos));
	assert_string_equal(got.pod_uid, uid);
	assert_string_equal(got.container_id, id);
	assert_string_equal(got.runtime, runtime);
}

static void expect_other(const char *path)
{
	expect(path, CGROUP_KIND_OTHER, POD_QOS_UNKNOWN, "", "", "");
}

static void test_cgroupfs_levels(void **state)
{
	(void)state;
	expect("kubepods", CGROUP_KIND_KUBEPODS, POD_QOS_UNKNOWN, "", "", "");
	expect("/kubepods", CGROUP_KIND_KUBEPODS, POD_QOS_UNKNOWN, "", "", "");
	expect("kubepods/", CGROUP_KIND_KUBEPODS, POD_QOS_UNKNOWN, "", "", "");
	expect("kubepods/burstable", CGROUP_KIND_QOS, POD_QOS_BURSTABLE, "", "", "");
	expect("kubepods/besteffort", CGROUP_KIND_QOS, POD_QOS_BESTEFFORT, "", "", "");
}

static void test_cgroupfs_pods_and_containers(void **state)
{
	(void)state;
	expect("kubepods/pod" UID, CGROUP_KIND_POD, POD_QOS_GUARANTEED, UID, "", "");
	expect("kubepods/pod" UID "/" CID, CGROUP_KIND_CONTAINER, POD_QOS_GUARANTEED, UID, CID, "");
	expect("kubepods/burstable/pod" UID, CGROUP_KIND_POD, POD_QOS_BURSTABLE, UID, "", "");
	expect("/kubepods/burstable/pod" UID "/" CID, CGROUP_KIND_CONTAINER, POD_QOS_BURSTABLE, UID, CID, "");
	expect("kubepods/besteffort/pod" UID, CGROUP_KIND_POD, POD_QOS_BESTEFFORT, UID, "", "");
	expect("kubepods/besteffort/pod" UID "/" CID, CGROUP_KIND_CONTAINER, POD_QOS_BESTEFFORT, UID, CID, "");
	/* doubled slashes are only separators */
	expect("kubepods//burstable//pod" UID "//abc", CGROUP_KIND_CONTAINER, POD_QOS_BURSTABLE, UID, "abc", "");
	/* static pods have hash uids without dashes */
	expect("kubepods/besteffort/pod0123456789abcdef0123456789abcdef", CGROUP_KIND_POD, POD_QOS_BESTEFFORT,
	       "0123456789abcdef0123456789abcdef", "", "");
}

static void test_cgroupfs_junk(void **state)
{
	(void)state;
	expect_other("");
	expect_other("/");
	expect_other("system.slice");
	expect_other("kubepodsx");
	expect_other("kubepods/guaranteed");
	expect_other("kubepods/pod");                           /* empty uid */
	expect_other("kubepods/burstable/pod");
	expect_other("kubepods/burstable/pod" UID "x");         /* 'x' is no hex digit */
	expect_other("kubepods/burstable/pod1e4a_3c52");        /* underscores only in systemd names */
	expect_other("kubepods/burstable/pod..");
	expect_other("kubepods/burstable/pod" UID "/..");
	expect_other("kubepods/burstable/pod" UID "/.");
	expect_other("kubepods/burstable/pod" UID "/a b");      /* bad id characters */
	expect_other("kubepods/burstable/pod" UID "/" CID "/x"); /* below a container */
	expect_other("kubepods/burstable/besteffort/pod" UID);
	expect_other("kubepods/burstable/pod" UID "/" CID "/a/b/c/d/e"); /* too deep */
	expect_other("kubepods/a/b/c/d/e/f/g/h/i");
	/* a uid longer than POD_UID_MAX */
	expect_other("kubepods/pod"
		     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0");
	/* an id longer than CONTAINER_ID_MAX */
	expect_other("kubepods/pod" UID "/" CID CID "0");
}

static void test_systemd_levels(void **state)
{
	(void)state;
	expect("kubepods.slice", CGROUP_KIND_KUBEPODS, POD_QOS_UNKNOWN, "", "", "");
	expect("/kubepods.slice", CGROUP_KIND_KUBEPODS, POD_QOS_UNKNOWN, "", "", "");
	expect("kubepods.slice/kubepods-burstable.slice", CGROUP_KIND_QOS, POD_QOS_BURSTABLE, "", "", "");
	expect("kubepods.slice/kubepods-besteffort.slice", CGROUP_KIND_QOS, POD_QOS_BESTEFFORT, "", "", "");
}

static void test_systemd_pods_and_containers(void **state)
{
	(void)state;
	const char *burstable_pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD
				    ".slice";
	expect(burstable_pod, CGROUP_KIND_POD, POD_QOS_BURSTABLE, UID, "", "");
	expect("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD
	       ".slice/cri-containerd-" CID ".scope",
	       CGROUP_KIND_CONTAINER, POD_QOS_BURSTABLE, UID, CID, "cri-containerd");
	expect("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD
	       ".slice/crio-" CID ".scope",
	       CGROUP_KIND_CONTAINER, POD_QOS_BURSTABLE, UID, CID, "crio");
	expect("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SYSTEMD
	       ".slice/docker-" CID ".scope",
	       CGROUP_KIND_CONTAINER, POD_QOS_BESTEFFORT, UID, CID, "docker");
	expect("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SYSTEMD ".slice",
	       CGROUP_KIND_POD, POD_QOS_BESTEFFORT, UID, "", "");
	/* guaranteed pods sit directly under kubepods.slice */
	expect("kubepods.slice/kubepods-pod" UID_SYSTEMD ".slice", CGROUP_KIND_POD, POD_QOS_GUARANTEED, UID, "",
	       "");
	expect("/kubepods.slice/kubepods-pod" UID_SYSTEMD ".slice/cri-containerd-" CID ".scope",
	       CGROUP_KIND_CONTAINER, POD_QOS_GUARANTEED, UID, CID, "cri-containerd");
}

static void test_systemd_not_containers(void **state)
{
	(void)state;
	const char *pod = "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD ".slice";
	char path[512];
	/* CRI-O's conmon monitor scope */
	snprintf(path, sizeof(path), "%s/crio-conmon-%s.scope", pod, CID);
	expect_other(path);
	/* unknown runtime, no runtime, missing id, wrong suffix */
	snprintf(path, sizeof(path), "%s/podman-%s.scope", pod, CID);
	expect_other(path);
	snprintf(path, sizeof(path), "%s/%s.scope", pod, CID);
	expect_other(path);
	snprintf(path, sizeof(path), "%s/crio-.scope", pod);
	expect_other(path);
	snprintf(path, sizeof(path), "%s/cri-containerd-%s.slice", pod, CID);
	expect_other(path);
	snprintf(path, sizeof(path), "%s/cri-containerd-%s", pod, CID);
	expect_other(path);
	snprintf(path, sizeof(path), "%s/crio-...scope", pod); /* id ".." */
	expect_other(path);
	snprintf(path, sizeof(path), "%s/crio-%s.scope/extra", pod, CID);
	expect_other(path);
}

static void test_systemd_junk(void **state)
{
	(void)state;
	expect_other("kubepods.slice/kubepods-pod.slice");                           /* empty uid */
	expect_other("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod.slice");
	expect_other("kubepods.slice/kubepods-pod" UID_SYSTEMD);                     /* no .slice */
	expect_other("kubepods.slice/kubepods-pod" UID_SYSTEMD "x.slice");           /* bad uid char */
	expect_other("kubepods.slice/kubepods-pod../x.slice");
	expect_other("kubepods.slice/kubepods-guaranteed.slice");
	/* the pod slice must carry its QoS class's prefix */
	expect_other("kubepods.slice/kubepods-burstable.slice/kubepods-besteffort-pod" UID_SYSTEMD ".slice");
	expect_other("kubepods.slice/kubepods-burstable.slice/kubepods-pod" UID_SYSTEMD ".slice");
	/* cgroupfs names under the systemd root and the other way round */
	expect_other("kubepods.slice/burstable/pod" UID);
	expect_other("kubepods/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD ".slice");
	expect_other("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD
		     ".slice/crio-" CID ".scope/a/b/c/d/e/f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroupfs_levels),
		cmocka_unit_test(test_cgroupfs_pods_and_containers),
		cmocka_unit_test(test_cgroupfs_junk),
		cmocka_unit_test(test_systemd_levels),
		cmocka_unit_test(test_systemd_pods_and_containers),
		cmocka_unit_test(test_systemd_not_containers),
		cmocka_unit_test(test_systemd_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
