# jauth — build, test, install.
#
#   make            libjauth, the modules and the jauth CLI, under build/
#   make check      every test suite (Check), against the local stand-in
#   make demo       the main job, step by step, against the local stand-in
#   make install    PREFIX=/usr/local DESTDIR=…  (a build for another PREFIX
#                   is rebuilt first: $(B)/config records what it was for)
#   make install-python   the Python package jauth (bindings/python)
#
# Missing build dependencies are installed on the first run (mk/deps.sh).

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MODULEDIR  ?= $(LIBDIR)/jauth/modules
DATADIR    ?= $(PREFIX)/share/jauth
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UNITDIR    ?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# The installed tool finds libjauth through this run path; none where the
# dynamic linker looks anyway (Debian policy: no RPATH to system dirs).
INSTALL_RPATH ?= $(if $(filter /lib /usr/lib /lib64 /usr/lib64 /usr/lib/%-gnu,$(LIBDIR)),,$(LIBDIR))

VERSION := 0.1.0
SOMAJOR := 1

CC      ?= cc
CFLAGS  ?= -O2 -g
WERROR  ?= -Werror
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes $(WERROR)
PKGS    := libcurl libcjson
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS))
DEP_LIBS   = $(shell pkg-config --libs $(PKGS))
# libjauth and the CLI link cJSON only; libcurl is http.so's (see below).
CJSON_LIBS = $(shell pkg-config --libs libcjson)
CURL_LIBS  = $(shell pkg-config --libs libcurl)
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -Icore/include $(WARN) $(CFLAGS) $(DEP_CFLAGS)

B ?= build
LIB_SO   := $(B)/lib/libjauth.so.$(SOMAJOR)
LIB_LINK := $(B)/lib/libjauth.so
# libjauth's private objects, dlopened on first use from jauth/ next to
# libjauth.so.1 (core/private.c): http.so holds libcurl, seal.so libcrypto
# (for a store with a key).
PRIVATE_SO := $(B)/lib/jauth/http.so $(B)/lib/jauth/seal.so

CORE_SRC := $(wildcard core/*.c) $(filter-out core/store/pgsql_driver.c,$(wildcard core/store/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(B)/obj/%.o)
# The PostgreSQL store's driver: a private object, the only one with libpq.
PGSQL_SO := $(B)/lib/jauth/store-pgsql.so
MODULES  := $(sort $(patsubst modules/%/,%,$(dir $(wildcard modules/*/*.c))))
MODULE_SO := $(MODULES:%=$(B)/modules/%.so)
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
CLI      := $(B)/bin/jauth
# The same objects linked for $(BINDIR): build/bin/jauth runs from the tree
# ($$ORIGIN/../lib), the installed one never looks into the build tree.
CLI_INST := $(B)/inst/jauth
# What the build bakes in; a different value rewrites $(B)/config, which
# rebuilds what depends on it (the core's module dir, the installed tool).
BUILD_CONFIG := PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) MODULEDIR=$(MODULEDIR) BINDIR=$(BINDIR) INSTALL_RPATH=$(INSTALL_RPATH)

# Test modules: testmod in several ABI guises (see tests/modules/testmod.c).
TESTMODS := testmod testmod_old testmod_newer testmod_major testmod_noentry
TESTMOD_SO := $(TESTMODS:%=$(B)/tests/modules/%.so)
testmod_old_DEFS     := -DTESTMOD_ABI_OLD
testmod_newer_DEFS   := -DTESTMOD_ABI='((1u<<16)|2u)'
testmod_major_DEFS   := -DTESTMOD_ABI='((2u<<16)|0u)'
testmod_noentry_DEFS := -DTESTMOD_NO_ENTRY

TEST_SRC := $(wildcard tests/check_*.c) tests/support/standin.c tests/support/fixture.c tests/support/pgserver.c
TEST_OBJ := $(TEST_SRC:%.c=$(B)/obj/%.o)
TEST_BIN := $(B)/tests/check_jauth
# The Linux-PAM module of the differential test (tests/check_pam.c).
PAM_PICK := $(B)/tests/pam/pam_pick.so
TEST_DEFS := -DJAUTH_TEST_SRCDIR=\"$(CURDIR)/tests\" -DJAUTH_TEST_BUILDDIR=\"$(CURDIR)/$(B)\" \
	-DJAUTH_TEST_PREFIX=\"$(PREFIX)\"

.PHONY: all deps check demo install uninstall clean bench check-asan \
	check-tsan check-valgrind check-python install-python uninstall-python FORCE
all: $(LIB_SO) $(PRIVATE_SO) $(MODULE_SO) $(CLI) $(CLI_INST) $(PGSQL_SO)

$(B)/config: FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(BUILD_CONFIG)" ]; then \
		if [ -f $@ ]; then echo "jauth: $(B) was built for $$(cat $@); rebuilding for $(BUILD_CONFIG)"; fi; \
		echo "$(BUILD_CONFIG)" >$@; fi

# NODEPS=1 (package builds): never call apt-get.
deps:
	@[ -n "$(NODEPS)" ] || sh mk/deps.sh

# ---- libjauth ----
$(B)/obj/core/%.o: core/%.c core/internal.h core/http/iface.h core/include/jauth/jauth.h core/include/jauth/module.h $(B)/config | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -DJAUTH_MODULEDIR=\"$(MODULEDIR)\" -c $< -o $@

$(B)/obj/core/store/%.o: core/store/store.h

$(LIB_SO): $(CORE_OBJ) core/libjauth.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,-soname,libjauth.so.$(SOMAJOR) -Wl,--version-script=core/libjauth.map \
		-Wl,-z,relro,-z,now -Wl,--no-undefined $(CFLAGS) -o $@ $(CORE_OBJ) $(CJSON_LIBS) -ldl
	ln -sf libjauth.so.$(SOMAJOR) $(LIB_LINK)

$(filter $(B)/obj/core/store/%,$(CORE_OBJ)): core/store/pgsql.h

# The schema, compiled in as a C string (the same file is installed).
$(B)/gen/pgsql_schema.h: core/store/pgsql.sql
	@mkdir -p $(@D)
	{ echo '#define PGSQL_SCHEMA \'; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
		-e 's/^/"/' -e 's/$$/\\n" \\/' $<; echo '""'; } >$@
$(B)/obj/core/store/pgsql_admin.o: $(B)/gen/pgsql_schema.h
$(B)/obj/core/store/pgsql_admin.o: BASE_CFLAGS += -I$(B)/gen

$(PGSQL_SO): core/store/pgsql_driver.c core/store/pgsql.h | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(shell pkg-config --cflags libpq) -fPIC -fvisibility=hidden -shared \
		-Wl,-z,relro,-z,now -Wl,--no-undefined -o $@ $< $(shell pkg-config --libs libpq libcjson)

$(B)/lib/jauth/http.so: core/http/curl.c core/http/iface.h | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -shared -Wl,-z,relro,-z,now \
		-Wl,--no-undefined -o $@ $< $(CURL_LIBS) $(shell pkg-config --libs libssl)

$(B)/lib/jauth/seal.so: core/seal/aead.c core/seal/iface.h | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -shared -Wl,-z,relro,-z,now \
		-Wl,--no-undefined -o $@ $< $(shell pkg-config --libs libcrypto)

# ---- modules ----
$(B)/modules/%.so: modules/%/* core/include/jauth/module.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -shared -Wl,-z,relro,-z,now -Wl,--no-undefined \
		-o $@ $(filter %.c,$^) -L$(B)/lib -ljauth $(shell pkg-config --libs libcjson)

# ---- CLI ----
$(B)/obj/cli/%.o: cli/%.c cli/*.h core/include/jauth/jauth.h | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Imodules/oauth3lo -c $< -o $@

$(CLI): $(CLI_OBJ) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -pthread $(CFLAGS) -o $@ $(CLI_OBJ) -L$(B)/lib -ljauth -Wl,-rpath,'$$ORIGIN/../lib' $(CJSON_LIBS)

$(CLI_INST): $(CLI_OBJ) $(LIB_SO) $(B)/config
	@mkdir -p $(@D)
	$(CC) -pthread $(CFLAGS) -o $@ $(CLI_OBJ) -L$(B)/lib -ljauth $(INSTALL_RPATH:%=-Wl,-rpath,%) \
		-Wl,-z,relro,-z,now $(LDFLAGS) $(CJSON_LIBS)

# ---- tests ----
$(B)/tests/modules/%.so: tests/modules/testmod.c core/include/jauth/module.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -shared $($*_DEFS) -o $@ $< -L$(B)/lib -ljauth

$(PAM_PICK): tests/pam/pam_pick.c | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -fPIC -shared -o $@ $<

$(B)/obj/tests/%.o: tests/%.c tests/support/*.h core/include/jauth/jauth.h $(B)/config | deps
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CHECK_CFLAGS) $(shell pkg-config --cflags libpq) $(TEST_DEFS) -Itests -Itests/support -c $< -o $@

$(TEST_BIN): $(TEST_OBJ) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -pthread $(CFLAGS) -o $@ $(TEST_OBJ) -L$(B)/lib -ljauth $(CHECK_LIBS) $(DEP_LIBS) -lpam $(shell pkg-config --libs libpq)

# The README's connector example, compiled as any connector would be.
$(B)/examples/connector: examples/connector.c core/include/jauth/jauth.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -o $@ $< -L$(B)/lib -ljauth

# The connector caught with a secret in flight (tests/check_secrets.c).
CANARY := $(B)/tests/canary-connector
$(CANARY): tests/canary/connector.c core/include/jauth/jauth.h $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -o $@ $< -L$(B)/lib -ljauth

check: all $(TESTMOD_SO) $(PAM_PICK) $(TEST_BIN) $(B)/examples/connector $(CANARY)
	LD_LIBRARY_PATH=$(CURDIR)/$(B)/lib $(TEST_BIN)
	$(if $(findstring -fsanitize,$(CFLAGS)),@echo "check-python: not under sanitizers",$(PYTEST))

# ---- the Python package (bindings/python) ----
# Its pytest suite runs against this build's libjauth and the stand-in.
# Not under sanitizers: python3 would need their runtime preloaded.
PYTHON3 ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,python3)
PYTEST = PYTHONDONTWRITEBYTECODE=1 JAUTH_LIBRARY=$(CURDIR)/$(LIB_SO) \
	JAUTH_BUILD_DIR=$(CURDIR)/$(B) $(PYTHON3) -m pytest -q -p no:cacheprovider \
	bindings/python/tests
# Debian's convention: /usr/lib/python3/dist-packages for PREFIX=/usr,
# else $(PREFIX)/lib/python3.X/dist-packages (on Debian's sys.path).
PYVER = $(shell $(PYTHON3) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PYTHONDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python$(PYVER)/dist-packages)
PY_SRC := $(wildcard bindings/python/src/jauth/*.py) bindings/python/src/jauth/py.typed

check-python: all
	$(PYTEST)

# _paths.py tells the package where make install put libjauth.so.1.
install-python:
	install -d $(DESTDIR)$(PYTHONDIR)/jauth
	install -m 0644 $(PY_SRC) $(DESTDIR)$(PYTHONDIR)/jauth/
	printf 'LIBDIR = "%s"\n' '$(LIBDIR)' >$(DESTDIR)$(PYTHONDIR)/jauth/_paths.py
	chmod 0644 $(DESTDIR)$(PYTHONDIR)/jauth/_paths.py

uninstall-python:
	rm -rf $(DESTDIR)$(PYTHONDIR)/jauth

# ---- hardening: the suites under sanitizers and memcheck ----
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer

check-asan:
	$(MAKE) B=build/asan CFLAGS="$(SAN_CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all" check

# ThreadSanitizer over the suites where threads and processes meet.
check-tsan:
	$(MAKE) B=build/tsan CFLAGS="$(SAN_CFLAGS) -fsanitize=thread" all build/tsan/tests/check_jauth $(TESTMODS:%=build/tsan/tests/modules/%.so)
	for s in threads "store processes" "oauth3lo.so processes"; do \
		CK_RUN_SUITE="$$s" TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		LD_LIBRARY_PATH=$(CURDIR)/build/tsan/lib build/tsan/tests/check_jauth || exit 1; done

# memcheck over the suites of one process (the thread and process storms
# are TSan's); leaks of libcurl/OpenSSL caches are "still reachable", not
# lost, and do not count.
VALGRIND_SUITES := "stack syntax" dispatch loading services apitoken.so oauth3lo.so "hostile input" http trust
check-valgrind: all $(TESTMOD_SO) $(PAM_PICK) $(TEST_BIN)
	@sh mk/deps.sh valgrind
	for s in $(VALGRIND_SUITES); do \
		CK_RUN_SUITE="$$s" CK_DEFAULT_TIMEOUT=600 LD_LIBRARY_PATH=$(CURDIR)/$(B)/lib \
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--show-leak-kinds=definite,indirect --error-exitcode=99 \
			--trace-children=no $(TEST_BIN) || exit 1; done

# ---- install ----
# jauth.pc names its directories relative to ${prefix} (${libdir}), so that
# pkg-config --define-prefix works on a staged tree.
pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(patsubst $(LIBDIR)/%,$${libdir}/%,$(1)))
$(B)/jauth.pc: core/jauth.pc.in Makefile $(B)/config
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pc_rel,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@MODULEDIR@|$(call pc_rel,$(MODULEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' $< >$@

# The keep-alive units (systemd/), with the installed tool's path.
UNITS := $(patsubst systemd/%.in,$(B)/systemd/%,$(wildcard systemd/*.in))
$(B)/systemd/%: systemd/%.in $(B)/config
	@mkdir -p $(@D)
	sed -e 's|@BINDIR@|$(BINDIR)|g' $< >$@

MANPAGES := $(wildcard man/*.[1-9])
CONF_EXAMPLES := $(wildcard conf/*)
COMPLETION := cli/jauth.bash-completion

# Into the live system (DESTDIR empty, as root): ldconfig, and the admin's
# stack directory /etc/jauth.d (the library's fixed conf path, DESIGN §3)
# when missing. A staged install gets $(DESTDIR)/etc/jauth.d, no ldconfig.
install: all $(B)/jauth.pc $(UNITS)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/jauth \
		$(DESTDIR)$(MODULEDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(DATADIR)/conf \
		$(DESTDIR)$(UNITDIR)
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	install -d $(DESTDIR)$(LIBDIR)/jauth
	install -m 0644 $(B)/lib/jauth/*.so $(DESTDIR)$(LIBDIR)/jauth/
	ln -sf libjauth.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libjauth.so
	install -m 0644 core/include/jauth/jauth.h core/include/jauth/module.h \
		$(DESTDIR)$(INCLUDEDIR)/jauth/
	install -m 0644 $(MODULE_SO) $(DESTDIR)$(MODULEDIR)/
	install -m 0755 $(CLI_INST) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(B)/jauth.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 0644 $(CONF_EXAMPLES) $(DESTDIR)$(DATADIR)/conf/
	install -d $(DESTDIR)$(DATADIR)/pgsql
	install -m 0644 core/store/pgsql.sql $(DESTDIR)$(DATADIR)/pgsql/schema.sql
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	[ ! -f $(COMPLETION) ] || install -D -m 0644 $(COMPLETION) \
		$(DESTDIR)$(COMPLETIONDIR)/jauth
	for m in $(MANPAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	@if [ -n "$(DESTDIR)" ]; then install -d -m 0755 $(DESTDIR)/etc/jauth.d; \
	elif [ "$$(id -u)" = 0 ]; then [ -d /etc/jauth.d ] || install -d -m 0755 /etc/jauth.d; \
		echo ldconfig; PATH="$$PATH:/usr/sbin:/sbin" ldconfig; \
	else echo "jauth: not root: /etc/jauth.d and ldconfig skipped"; fi

# Leaves /etc/jauth.d (the admin's stacks) and the state alone.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libjauth.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libjauth.so
	rm -rf $(DESTDIR)$(INCLUDEDIR)/jauth $(DESTDIR)$(DATADIR)
	rm -f $(MODULES:%=$(DESTDIR)$(MODULEDIR)/%.so) $(DESTDIR)$(LIBDIR)/jauth/*.so
	-rmdir $(DESTDIR)$(MODULEDIR) $(DESTDIR)$(LIBDIR)/jauth 2>/dev/null
	rm -f $(DESTDIR)$(BINDIR)/jauth $(DESTDIR)$(PKGCONFIGDIR)/jauth.pc
	rm -f $(UNITS:$(B)/systemd/%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(COMPLETIONDIR)/jauth
	for m in $(MANPAGES); do s=$${m##*.}; \
		rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		echo ldconfig; PATH="$$PATH:/usr/sbin:/sbin" ldconfig; fi

demo: all
	@B=$(CURDIR)/$(B) sh mk/demo.sh

clean:
	rm -rf $(B)

# Fuzzing (mk/fuzz.mk) and benchmarks (mk/bench.mk) live in their own files.
-include mk/fuzz.mk mk/bench.mk
