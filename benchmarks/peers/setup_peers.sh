#!/usr/bin/env bash
# Install the peers of benchmarks/bench_nuts.py: PyMC's nutpie sampler (into the active
# Python environment) and Stan through rstan (Debian's r-cran-rstan, with Rscript).
# Usage (as root, or with sudo for apt-get), from the repository root with the venv active:
#   bash benchmarks/peers/setup_peers.sh
# A peer whose install fails is skipped by the benchmark, which says so.
set -u
status=0
if python -c "import nutpie" 2>/dev/null; then
  echo "nutpie: already installed"
else
  python -m pip install --quiet nutpie || { echo "nutpie: pip install failed"; status=1; }
fi
if command -v Rscript >/dev/null && Rscript -e 'library(rstan); library(jsonlite); library(BH)' >/dev/null 2>&1; then
  echo "rstan: already installed"
else
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
    r-cran-rstan r-cran-jsonlite r-cran-bh r-cran-codetools build-essential \
    || { echo "rstan: apt-get install failed"; status=1; }
fi
python -c "import nutpie; print('nutpie', nutpie.__version__)" 2>/dev/null || echo "nutpie: absent"
Rscript -e 'cat("rstan", as.character(packageVersion("rstan")), "\n")' 2>/dev/null \
  || echo "rstan: absent"
exit $status
