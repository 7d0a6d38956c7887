.PHONY: demo test setup bench

# Sets up what is missing, runs the service with a demo course, grades a demo submission.
demo:
	bash scripts/demo.sh

# Sets up what is missing, then runs the whole test suite.
test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh --test

bench:
	bash scripts/bench.sh
