# Stan peer of benchmarks/bench_nuts.py: compile bbj.stan with rstan, sample, write draws.
# Usage: Rscript run_stan.R DATA.json MODEL.stan OUTDIR CHAINS DRAWS TUNE SEED ADAPT_DELTA
# Writes OUTDIR/draws.csv (chain, draw, every parameter and generated quantity, post
# warm-up) and OUTDIR/stats.json (compile and sampling seconds, divergences, tree depths).
suppressPackageStartupMessages({
  library(rstan)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 8) {
  stop("usage: Rscript run_stan.R DATA.json MODEL.stan OUTDIR CHAINS DRAWS TUNE SEED ADAPT_DELTA")
}
data_path <- args[1]
model_path <- args[2]
out_dir <- args[3]
chains <- as.integer(args[4])
draws <- as.integer(args[5])
tune <- as.integer(args[6])
seed <- as.integer(args[7])
adapt_delta <- as.numeric(args[8])

t_start <- Sys.time()
d <- fromJSON(data_path, simplifyVector = TRUE)
# arrays of length 1 arrive as scalars: Stan needs them as arrays
for (k in names(d)) {
  if (grepl("^(idx|i_|y_|c_|x_)|^rta$", k)) d[[k]] <- as.array(d[[k]])
}
rstan_options(auto_write = FALSE)
# Debian's r-cran-bh is a stub: the Boost headers live in /usr/include (libboost-dev)
if (!file.exists(rstan_options("boost_lib")) && dir.exists("/usr/include/boost")) {
  rstan_options(boost_lib = "/usr/include")
}
t0 <- Sys.time()
sm <- stan_model(model_path, model_name = "bbj")
compile_s <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
t1 <- Sys.time()
fit <- sampling(
  sm, data = d, chains = chains, iter = tune + draws, warmup = tune, seed = seed,
  cores = min(chains, parallel::detectCores()), refresh = 0,
  control = list(adapt_delta = adapt_delta)
)
sampling_s <- as.numeric(difftime(Sys.time(), t1, units = "secs"))
if (fit@mode != 0L) stop("Stan sampling failed (see the messages above)")
total_s <- as.numeric(difftime(Sys.time(), t_start, units = "secs"))

arr <- as.array(fit)  # iterations x chains x parameters
n_it <- dim(arr)[1]
n_ch <- dim(arr)[2]
rows <- lapply(seq_len(n_ch), function(ch) {
  data.frame(chain = ch - 1L, draw = seq_len(n_it) - 1L, arr[, ch, ], check.names = FALSE)
})
write.csv(do.call(rbind, rows), file.path(out_dir, "draws.csv"), row.names = FALSE)
sp <- get_sampler_params(fit, inc_warmup = FALSE)
el <- get_elapsed_time(fit)
stats <- list(
  compile_s = compile_s,
  sampling_s = sampling_s,
  total_s = total_s,
  divergences = sum(sapply(sp, function(x) sum(x[, "divergent__"]))),
  max_treedepth = max(sapply(sp, function(x) max(x[, "treedepth__"]))),
  mean_leapfrog = mean(sapply(sp, function(x) mean(x[, "n_leapfrog__"]))),
  chain_warmup_s = as.numeric(el[, "warmup"]),
  chain_sample_s = as.numeric(el[, "sample"]),
  rstan = as.character(packageVersion("rstan"))
)
write(toJSON(stats, auto_unbox = TRUE, digits = NA), file.path(out_dir, "stats.json"))
