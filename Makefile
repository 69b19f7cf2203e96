# voltpay: one Makefile for the extension, the bridge, the tests, the demo
# and the benchmarks.  `make` builds, `make install` installs the extension
# into the server's directories, `make test` runs every suite, `make demo`
# runs the pipeline end to end, `make bench` measures.

EXTENSION	= voltpay
EXTVERSION	= $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" voltpay.control)

MODULE_big	= voltpay
OBJS		= extension/voltpay.o extension/message.o extension/message_json.o extension/message_sql.o extension/validate.o \
			  extension/iso_tables.o extension/apply.o extension/idempotency.o extension/positions.o extension/writer.o extension/bulk.o \
			  extension/outbox.o extension/trace.o extension/spi_util.o \
			  extension/sweeper.o
HEADERS		=
PGFILEDESC	= "voltpay - exactly-once payment writer"

# Install scripts: the current version is assembled from sql/parts; released
# versions and upgrade scripts are plain files in sql/.
DATA_built	= sql/$(EXTENSION)--$(EXTVERSION).sql
DATA		= $(filter-out $(DATA_built), $(wildcard sql/$(EXTENSION)--*.sql))
EXTRA_CLEAN	= sql/$(EXTENSION)--$(EXTVERSION).sql test/results test/output_iso \
			  test/regression.diffs test/regression.out

# Tests through PGXS, against a running server (the PG* variables name it),
# as pgvector and pg_cron do: `make install && make installcheck` runs the
# pg_regress tests (test/sql, test/expected), the isolation specs
# (test/specs) and the TAP tests (test/t; initdb refuses root, so run them
# as another user).  One kind alone: installcheck-regress,
# installcheck-isolation, prove_installcheck.  VP_TEST_OUTPUT is where
# results and regression.diffs go.
VP_TEST_OUTPUT	?= test
REGRESS		= $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS	= --inputdir=test --outputdir=$(VP_TEST_OUTPUT)
ISOLATION	= $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS	= --inputdir=test --outputdir=$(VP_TEST_OUTPUT)/output_iso \
			  --load-extension=$(EXTENSION)
TAP_TESTS	= 1
PROVE_TESTS	= $(sort $(wildcard test/t/*.pl))

PG_CONFIG	?= pg_config
PG_CPPFLAGS	+= -Iextension
PG_CFLAGS	+= -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
			   -Wno-sign-compare $(VP_WERROR)
ifdef CI
VP_WERROR	= -Werror
endif

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# Before `make deps` has installed postgresql-server-dev-15 only the targets
# below that install it can run.
all install test demo bench:
	@$(MAKE) deps && $(MAKE) $@
else
include $(PGXS)
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard sql/parts/*.sql))
	cat $^ > $@

# PGXS's installcheck runs all three kinds; these run one each, through the
# same PGXS rule.
.PHONY: installcheck-regress installcheck-isolation prove_installcheck
installcheck-regress:
	$(MAKE) installcheck ISOLATION= TAP_TESTS=
installcheck-isolation:
	$(MAKE) installcheck REGRESS= TAP_TESTS=
prove_installcheck:
	$(MAKE) installcheck REGRESS= ISOLATION=

.PHONY: deps bridge test test-unit test-meta test-pgtap test-regress test-isolation test-valgrind \
		test-worker test-liquibase test-bridge test-kafka test-secure test-monitoring test-soak \
		soak demo bench

# Installs what is missing (Debian packages, npm, Maven), then nothing more.
deps:
	@./scripts/deps.sh

bridge:
	$(MAKE) -C bridge

# Every suite; each starts and stops its own PostgreSQL cluster.
test: deps
	$(MAKE) all
	$(MAKE) install
	$(MAKE) bridge
	./test/run-all.sh

test-meta test-pgtap test-regress test-isolation test-valgrind test-worker test-liquibase: deps all install
	./test/run-all.sh $(@:test-%=%)

test-unit: deps
	./test/run-all.sh unit

test-bridge test-kafka test-secure test-monitoring test-soak: deps all install bridge
	./test/run-all.sh $(@:test-%=%)

# The soak test at length (not part of `make test`, whose soak suite runs
# it for 2.7 minutes): make soak [SOAK_MINUTES=60] [SOAK_RATE=400]
# [SOAK_RESULTS=dir]; docs/reliability.md.
SOAK_MINUTES ?= 60
SOAK_RATE ?= 400
soak: deps all install bridge
	./test/soak/soak.sh --minutes $(SOAK_MINUTES) --rate $(SOAK_RATE) \
		$(if $(SOAK_RESULTS),--results $(SOAK_RESULTS))

demo: deps all install bridge
	./scripts/demo.sh

bench: deps all install bridge
	./bench/run.sh

# Sets up or upgrades a writer database with Liquibase (docs/liquibase.md):
#   make migrate DB=postgresql://user@host:5432/writer [CONTEXTS=demo]
# Without DB, the PG* variables name the database, as for psql.
.PHONY: migrate
migrate: deps all install
	./liquibase/lb.sh update $(if $(CONTEXTS),--contexts=$(CONTEXTS))

# libFuzzer harnesses (docs/fuzzing.md): every fuzz/*/Makefile builds its
# harnesses into fuzz/build; `make test-fuzz` replays the saved corpora.
.PHONY: fuzz test-fuzz
fuzz:
	@for d in fuzz/*/; do [ ! -f $$d/Makefile ] || $(MAKE) -C $$d || exit 1; done

test-fuzz: deps all install
	./test/run-all.sh fuzz

# PGXN metadata: the version comes from voltpay.control.
META.json: META.json.in voltpay.control
	sed 's/@VERSION@/$(EXTVERSION)/g' $< > $@
