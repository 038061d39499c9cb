# Two commands for a new user (see README.md):
#   make book   install everything into .venv and build the book into _build/html
#   make test   install everything, build the book once, and run the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.install-stamp

.PHONY: book test install exercises lint bench package clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# make solutions/ course_helpers/ autograder/ importable from any folder (notebooks, nbgrader)
	$(PY) -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'rnn_course.pth').write_text('$(CURDIR)\n')"
	@touch $(STAMP)

book: $(STAMP)
	$(PY) scripts/build_book.py

test: book
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; \
	  exit $$rc

package: book
	$(PY) scripts/package_book.py

exercises: $(STAMP)
	$(PY) -m scripts.make_exercises

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf _build exercises/release exercises/autograded exercises/feedback exercises/hidden_grades exercises/gradebook.db
