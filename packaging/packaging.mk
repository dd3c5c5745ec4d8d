# packaging/packaging.mk: `make deb` builds $(BUILD)/cadet_<version>_<arch>.deb
# with dpkg-deb from a staging tree laid out as debhelper would
# ($(BUILD)/deb/debian/cadet): the daemons in /usr/bin, the systemd units in
# /lib/systemd/system, the defaults files in /etc/default (conffiles) and the
# maintainer scripts from packaging/debian. Depends is derived from the
# binaries' shared libraries with dpkg-shlibdeps (dpkg-dev).

DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_MAINTAINER ?= cadet maintainers <cadet@localhost>
DEB := $(BUILD)/cadet_$(VERSION)_$(DEB_ARCH).deb
DEB_STAGE := $(BUILD)/deb
DEB_ROOT := $(DEB_STAGE)/debian/cadet
DEB_UNITS := packaging/cadet-agent.service packaging/cadet-agent.socket packaging/cadet-aggregator.service
DEB_SCRIPTS := packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm
DEB_INPUTS := $(BINS) $(DEB_UNITS) $(DEB_SCRIPTS) packaging/debian/control.in packaging/debian/conffiles \
	packaging/cadet-agent.default packaging/cadet-aggregator.default packaging/packaging.mk

.PHONY: deb
deb: $(DEB)

$(DEB): $(DEB_INPUTS)
	rm -rf $(DEB_STAGE)
	install -d $(DEB_ROOT)/DEBIAN $(DEB_ROOT)/usr/bin $(DEB_ROOT)/lib/systemd/system $(DEB_ROOT)/etc/default
	install -m 0755 --strip $(BINS) $(DEB_ROOT)/usr/bin/
	install -m 0644 $(DEB_UNITS) $(DEB_ROOT)/lib/systemd/system/
	install -m 0644 packaging/cadet-agent.default $(DEB_ROOT)/etc/default/cadet-agent
	install -m 0644 packaging/cadet-aggregator.default $(DEB_ROOT)/etc/default/cadet-aggregator
	install -m 0755 $(DEB_SCRIPTS) $(DEB_ROOT)/DEBIAN/
	install -m 0644 packaging/debian/conffiles $(DEB_ROOT)/DEBIAN/
	# dpkg-shlibdeps reads the package list from debian/control
	printf 'Source: cadet\n\nPackage: cadet\nArchitecture: any\n' > $(DEB_STAGE)/debian/control
	cd $(DEB_STAGE) && dpkg-shlibdeps -O $(patsubst $(BUILD)/%,debian/cadet/usr/bin/%,$(BINS)) \
		| sed -n 's/^shlibs:Depends=//p' > depends
	test -s $(DEB_STAGE)/depends
	sed -e 's/@VERSION@/$(VERSION)/' -e 's/@ARCH@/$(DEB_ARCH)/' -e 's/@MAINTAINER@/$(DEB_MAINTAINER)/' \
		-e "s/@INSTALLED_SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" \
		-e "s/@DEPENDS@/$$(cat $(DEB_STAGE)/depends)/" \
		packaging/debian/control.in > $(DEB_ROOT)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@
