# Thin entry points; the scripts in scripts/ do the work.
#   make run                          demo on http://127.0.0.1:8000/ (PORT=8001 make run)
#   make test PYTEST_ARGS="-x -k foo" tests on PostGIS and SpatiaLite
#   make screenshots                  phone views of the site and staff app into var/screenshots/
#   make bootstrap                    system packages, .venv, translations (test set)
#   make clean                        remove .venv and var/ (local data, demo database)

PYTEST_ARGS ?=

.PHONY: run test bench screenshots bootstrap clean

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh $(PYTEST_ARGS)

bench:
	bash scripts/bench.sh $(BENCH_ARGS)

screenshots:
	bash scripts/screenshots.sh

bootstrap:
	bash scripts/bootstrap.sh test

clean:
	rm -rf .venv var
