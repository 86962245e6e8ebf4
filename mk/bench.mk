# mk/bench.mk — `make bench`: builds what the benchmarks need, runs all of
# them in one run (bench/), prints the table and writes docs/PERFORMANCE.md.
# Included at the end of the top-level Makefile, so B, CC, CFLAGS, the
# library, module, CLI and test-module targets are all known here.

BENCH_DIR  := $(B)/bench
BENCH_BIN  := $(BENCH_DIR)/jauth-bench
BENCH_SRC  := $(filter-out bench/child_%.c,$(wildcard bench/*.c)) tests/support/standin.c tests/support/pgserver.c
# The Open row's fresh process: a program linked with libjauth and libpam
# only (jauth-bench itself links libcurl for its baselines).
BENCH_OPEN := $(BENCH_DIR)/jauth-bench-open
BENCH_OBJ  := $(patsubst %.c,$(BENCH_DIR)/%.o,$(notdir $(BENCH_SRC)))
BENCH_DOC  := docs/PERFORMANCE.md
BENCH_WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
BENCH_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g $(BENCH_WARN) -pthread \
	-Icore/include -Ibench -Itests/support \
	$(shell pkg-config --cflags libcurl libcjson libpq) \
	-DJAUTH_TEST_SRCDIR=\"$(CURDIR)/tests\" \
	-DBENCH_BUILDDIR=\"$(CURDIR)/$(B)\"
BENCH_LIBS = -L$(B)/lib -ljauth -Wl,-rpath,$(CURDIR)/$(B)/lib -lpam \
	$(shell pkg-config --libs libcurl libcjson libpq)

.PHONY: bench bench-deps

# libpam0g-dev (pam_start_confdir, the baseline of the Open row), and
# whatever the normal build needs.
bench-deps:
	@sh mk/deps.sh bench

$(BENCH_DIR)/%.o: bench/%.c bench/common.h tests/support/standin.h tests/support/pam_noconv.h core/include/jauth/jauth.h | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_DIR)/standin.o: tests/support/standin.c tests/support/standin.h | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -c $< -o $@

# The fleet row's PostgreSQL, started as the pgsql suite starts it.
$(BENCH_DIR)/pgserver.o: tests/support/pgserver.c tests/support/pgserver.h | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJ) $(LIB_SO)
	@mkdir -p $(@D)
	$(CC) -pthread -o $@ $(BENCH_OBJ) $(BENCH_LIBS)

$(BENCH_OPEN): bench/child_open.c tests/support/pam_noconv.h core/include/jauth/jauth.h $(LIB_SO) | bench-deps
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(BENCH_WARN) -Icore/include -Itests/support -o $@ $< \
		-L$(B)/lib -ljauth -Wl,-rpath,$(CURDIR)/$(B)/lib -lpam

# One run of every benchmark; a missed target is reported in the table,
# only a benchmark that could not run makes this fail.
bench: all $(B)/tests/modules/testmod.so $(BENCH_BIN) $(BENCH_OPEN)
	@mkdir -p $(dir $(BENCH_DOC))
	$(BENCH_BIN) --cc "$(CC)" --doc $(BENCH_DOC)
