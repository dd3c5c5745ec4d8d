#!/bin/sh
# host-apt-sources.sh: prints this host's enabled apt sources for one Debian
# suite family as one-line "deb URI SUITE COMPONENTS" entries, the form
# mmdebstrap takes as mirrors. The guest image is built from the same
# archive the host installs from (the only package registry these machines
# reach), so no host name is written into the tree.
#
#   host-apt-sources.sh CODENAME     e.g. bookworm: matches bookworm,
#                                    bookworm-updates, bookworm-security
# Reads /etc/apt/sources.list, /etc/apt/sources.list.d/*.list (one-line
# form) and /etc/apt/sources.list.d/*.sources (deb822); exits 1 when none
# match.
set -eu
codename=$1
{
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# "deb [options] URI SUITE COMPONENT..."; deb-src and comments skipped
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 { print }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# deb822: stanzas separated by blank lines; one line per URI and suite
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && enabled != "no")
					for (i = 1; i <= nu; i++)
						for (j = 1; j <= ns; j++)
							print "deb " uris[i] " " suites[j] " " comps
				types = ""; enabled = ""; comps = ""; nu = 0; ns = 0
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = tolower($1); sub(/:$/, "", key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "enabled") enabled = tolower(val)
				else if (key == "components") comps = val
				else if (key == "uris") nu = split(val, uris, /[ \t]+/)
				else if (key == "suites") ns = split(val, suites, /[ \t]+/)
			}
			END { flush() }' "$f"
	done
} | awk -v c="$codename" '$3 == c || index($3, c "-") == 1' | sort -u | grep .
