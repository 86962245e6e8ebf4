# mk/fuzz.mk — libFuzzer targets for jauth's parsers (fuzz/README.md).
#
#   make fuzz [FUZZ_SECONDS=60]   build with clang + libFuzzer (ASan, UBSan)
#                                 and fuzz each target for FUZZ_SECONDS;
#                                 non-zero exit if any target crashed
#   make fuzz-replay              build with $(CC) (gcc is enough, ASan +
#                                 UBSan, no libFuzzer) and run every target
#                                 over fuzz/corpus/T and fuzz/regressions/T
#   make fuzz-clean               remove $(FUZZ_B)
#
# Everything is built and written under $(FUZZ_B) (build/fuzz). The core is
# compiled into each target from source with the fuzzing flags, never
# linked from build/lib. The stack target loads testmod.so, so both modes
# need $(B)/tests/modules/testmod.so (built here when missing) and run with
# LD_LIBRARY_PATH=$(B)/lib for its DT_NEEDED on libjauth.so.1.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_B       := $(B)/fuzz
FUZZ_TARGETS := lex stack callback token_response secret_file
FUZZ_TESTMOD := $(B)/tests/modules/testmod.so
FUZZ_ENV     := LD_LIBRARY_PATH=$(CURDIR)/$(B)/lib \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# What each target is built from. lex takes only the core files it needs;
# the others the whole core.
FUZZ_SRC_lex            := core/lex.c core/control.c core/util.c fuzz/lex.c
FUZZ_SRC_stack          := $(CORE_SRC) fuzz/support.c fuzz/stack.c
FUZZ_SRC_callback       := $(CORE_SRC) fuzz/callback.c
FUZZ_SRC_token_response := $(CORE_SRC) modules/oauth3lo/grant.c \
			   modules/oauth3lo/scopes.c fuzz/support.c \
			   fuzz/token_response.c
FUZZ_SRC_secret_file    := $(CORE_SRC) fuzz/support.c fuzz/secret_file.c

FUZZ_HDRS := core/internal.h core/include/jauth/jauth.h \
	     core/include/jauth/module.h modules/oauth3lo/oauth3lo.h \
	     modules/oauth3lo/scopes.h fuzz/support.h
FUZZ_CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -pthread -Icore/include -Icore \
		    -Imodules/oauth3lo -Ifuzz $(WARN) $(DEP_CFLAGS)
FUZZ_LIBS = $(DEP_LIBS) -ldl -pthread

# libFuzzer flavour (clang): objects get coverage instrumentation, the
# link adds libFuzzer's main. UB aborts so that libFuzzer records it.
FUZZ_LF_SAN := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	       -fno-sanitize-recover=all
# Replay flavour ($(CC), gcc): gcc's "undefined" lacks float-cast-overflow,
# which clang's has; added so that regressions replay alike.
FUZZ_RP_SAN := -g -O1 -fno-omit-frame-pointer \
	       -fsanitize=address,undefined,float-cast-overflow \
	       -fno-sanitize-recover=all

# The core and module code keep the library's visibility, so -rdynamic
# exports exactly the jauth_* API, which testmod.so then binds to.
$(FUZZ_B)/obj/lf/core/%.o $(FUZZ_B)/obj/rp/core/%.o \
$(FUZZ_B)/obj/lf/modules/%.o $(FUZZ_B)/obj/rp/modules/%.o: \
	FUZZ_VIS := -fvisibility=hidden
$(FUZZ_B)/obj/lf/fuzz/stack.o $(FUZZ_B)/obj/rp/fuzz/stack.o: \
	FUZZ_DEFS := -DFUZZ_TESTMOD=\"$(CURDIR)/$(FUZZ_TESTMOD)\"

# pgsql_admin.c includes the schema header the main build generates.
FUZZ_PGSQL_ADMIN := $(FUZZ_B)/obj/lf/core/store/pgsql_admin.o \
		    $(FUZZ_B)/obj/rp/core/store/pgsql_admin.o
$(FUZZ_PGSQL_ADMIN): $(B)/gen/pgsql_schema.h
$(FUZZ_PGSQL_ADMIN): FUZZ_DEFS += -I$(B)/gen

$(FUZZ_B)/obj/lf/%.o: %.c $(FUZZ_HDRS) | fuzz-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS_BASE) $(FUZZ_LF_SAN) -fsanitize=fuzzer-no-link \
		$(FUZZ_VIS) $(FUZZ_DEFS) -c $< -o $@

$(FUZZ_B)/obj/rp/%.o: %.c $(FUZZ_HDRS) | deps
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS_BASE) $(FUZZ_RP_SAN) $(FUZZ_VIS) $(FUZZ_DEFS) \
		-c $< -o $@

# One binary per target and flavour: $(FUZZ_B)/bin/T and $(FUZZ_B)/replay/T.
define FUZZ_TARGET_RULES
$(FUZZ_B)/bin/$(1): $$(patsubst %.c,$(FUZZ_B)/obj/lf/%.o,$$(FUZZ_SRC_$(1)))
	@mkdir -p $$(@D)
	$$(FUZZ_CC) $$(FUZZ_LF_SAN) -fsanitize=fuzzer -rdynamic -o $$@ $$^ \
		$$(FUZZ_LIBS)

$(FUZZ_B)/replay/$(1): $$(patsubst %.c,$(FUZZ_B)/obj/rp/%.o,$$(FUZZ_SRC_$(1)) fuzz/replay_main.c)
	@mkdir -p $$(@D)
	$$(CC) $$(FUZZ_RP_SAN) -rdynamic -o $$@ $$^ $$(FUZZ_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

FUZZ_RUNS := $(FUZZ_TARGETS:%=fuzz-run-%)
.PHONY: fuzz fuzz-build fuzz-deps fuzz-replay fuzz-replay-build fuzz-clean \
	$(FUZZ_RUNS)

# After the base check, so that two apt-get runs never race under make -j.
fuzz-deps: deps
	@sh mk/deps.sh fuzz

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_B)/bin/%) $(FUZZ_TESTMOD)

# Each target runs on its own (make -j runs them side by side); the summary
# comes once all have finished.
$(FUZZ_RUNS): fuzz-run-%: $(FUZZ_B)/bin/% $(FUZZ_TESTMOD)
	@echo "fuzz: $* for $(FUZZ_SECONDS)s ..."
	@$(FUZZ_ENV) sh fuzz/run.sh $* $(FUZZ_B)/bin/$* $(FUZZ_SECONDS) $(FUZZ_B)

fuzz: $(FUZZ_RUNS)
	@echo "---- fuzz summary ($(FUZZ_SECONDS)s per target) ----"
	@crashed=0; for t in $(FUZZ_TARGETS); do \
		r=$(FUZZ_B)/results/$$t; \
		if [ -f $$r ]; then cat $$r; else echo "$$t: no result"; crashed=1; fi; \
		grep -q ": CRASH\|: FAILED" $$r 2>/dev/null && crashed=1; \
	done; \
	if [ $$crashed -ne 0 ]; then \
		echo "fuzz: inputs that crash are in $(FUZZ_B)/crashes/<target>/:"; \
		echo "  reproduce with $(FUZZ_ENV) $(FUZZ_B)/bin/<target> FILE;"; \
		echo "  copy real ones into fuzz/regressions/<target>/ (make fuzz-replay runs them)"; \
		exit 1; \
	fi

fuzz-replay-build: $(FUZZ_TARGETS:%=$(FUZZ_B)/replay/%) $(FUZZ_TESTMOD)

fuzz-replay: fuzz-replay-build
	@fail=0; for t in $(FUZZ_TARGETS); do \
		$(FUZZ_ENV) $(FUZZ_B)/replay/$$t fuzz/corpus/$$t fuzz/regressions/$$t \
			|| { echo "$$t: FAILED"; fail=1; }; \
	done; exit $$fail

fuzz-clean:
	rm -rf $(FUZZ_B)
