.PHONY: demo test lint setup bench cluster-test images-offline

# Sets up what is missing, runs the service with a demo course, grades a demo submission.
demo:
	bash scripts/demo.sh

# Sets up what is missing, runs the linters (as make lint), then the whole test suite.
test:
	bash scripts/test.sh

# The linters alone (ruff, mypy), as make test runs them first.
lint:
	bash scripts/lint.sh

setup:
	bash scripts/setup.sh --test

bench:
	bash scripts/bench.sh

# The deployment on several grading hosts (docker-compose, offline images), a grading host killed mid-batch.
cluster-test:
	bash scripts/cluster-test.sh

# Every image docker-compose.offline.yml needs, built without a container registry.
images-offline:
	bash scripts/images-offline.sh
