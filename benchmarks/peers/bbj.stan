// Model bbj (Blanchard, Bown & Johnson 2016) as a plain Stan program: the peer of
// structest's NumPyro fit in benchmarks/bench_nuts.py (rstan 2.21 syntax).
//
// Latent tariff (pp), outside RTAs:
//   t* = 100/eps + g_IP x_ip + g_FVA x_fva + g_DVA x_dva + a[imp_ind_year] + b[exp_ind_year] + e
// inside RTAs: t* = g_IP_rta x_ip + g_FVA_rta x_fva + a + b + e;  e ~ Normal(0, sigma).
// Observed: min(max(t*, lower), MFN) with the right-censoring point c = the panel's
// mfn_threshold (where it starts recording "at MFN"), exactly as structest's likelihood
// and the PyMC peer (pm.Censored(lower=0, upper=c)):
//   uncensored: log Normal(y | m, sigma); at MFN: log P(t* >= c) = log Phi((m - c)/sigma);
//   at the lower bound: log P(t* <= lower) = log Phi((lower - m)/sigma).
// Rows whose c <= lower carry no information; bench_nuts.py leaves them out (as structest
// gives them log-likelihood 0). P(t* >= c) is written normal_lcdf(m | c, sigma), the same
// number as normal_lccdf(c | m, sigma) but with Stan's stable lower-tail code.
// Effects non-centred, as a user would write them: a = mu + tau_1 z_1, b = tau_2 z_2.
// Priors: hyperparameters come as data (pr_<name>) from the model's TOML; the families
// are fixed here and checked by the Python side.
data {
  int<lower=1> N;
  vector[N] x_ip;
  vector[N] x_fva;
  vector[N] x_dva;
  vector[N] rta;                       // 1 inside an RTA, else 0
  int<lower=1> J1;                     // levels of the first effect (imp_ind_year)
  int<lower=1> J2;                     // levels of the second effect (exp_ind_year)
  int<lower=1, upper=J1> idx1[N];
  int<lower=1, upper=J2> idx2[N];
  int<lower=0> N_exact;
  int<lower=0> N_right;
  int<lower=0> N_left;
  int<lower=1, upper=N> i_exact[N_exact];
  int<lower=1, upper=N> i_right[N_right];
  int<lower=1, upper=N> i_left[N_left];
  vector[N_exact] y_exact;             // uncensored tariffs (pp)
  vector[N_right] c_right;             // right-censoring points (pp)
  real lower_bound;                    // left bound (pp), 0
  vector[2] pr_eps;                    // lognormal(mu, sigma)
  vector[2] pr_lambda_abs;             // lognormal
  vector[2] pr_eps_r_home;             // lognormal
  vector[2] pr_eps_r_abroad;           // lognormal
  vector[2] pr_delta;                  // lognormal
  vector[2] pr_delta_star;             // beta(a, b)
  vector[3] pr_delta_dstar;            // normal(mu, sigma) truncated below at [3]
  vector[2] pr_eps_tilde;              // lognormal
  vector[2] pr_lambda_tilde;           // lognormal
  real<lower=0> pr_sigma;              // halfnormal(scale)
  vector[2] pr_mu;                     // normal(mu, sigma)
  real<lower=0> pr_tau1;               // halfnormal(scale)
  real<lower=0> pr_tau2;               // halfnormal(scale)
}
parameters {
  real<lower=0> eps;
  real<lower=0> lambda_abs;
  real<lower=0> eps_r_home;
  real<lower=0> eps_r_abroad;
  real<lower=0> delta;
  real<lower=0, upper=1> delta_star;
  real<lower=pr_delta_dstar[3]> delta_dstar;
  real<lower=0> eps_tilde;
  real<lower=0> lambda_tilde;
  real<lower=0> sigma;
  real mu;
  real<lower=0> tau1;
  real<lower=0> tau2;
  vector[J1] z1;
  vector[J2] z2;
}
model {
  real el = eps * lambda_abs;
  real elt = eps_tilde * lambda_tilde;
  real fva = (1 - delta_star) * eps_r_home;
  real intercept = 100 / eps;
  real g_ip = 100 * delta / el;
  real g_fva = -100 * fva / el;
  real g_dva = -100 * (1 + delta_dstar) * eps_r_abroad / eps;
  real g_ip_rta = 100 * delta / elt;
  real g_fva_rta = -100 * fva / elt;
  vector[N] out = intercept + g_ip * x_ip + g_fva * x_fva + g_dva * x_dva;
  vector[N] ins = g_ip_rta * x_ip + g_fva_rta * x_fva;
  vector[J1] a = mu + tau1 * z1;
  vector[N] m = rta .* ins + (1 - rta) .* out + a[idx1] + tau2 * z2[idx2];

  eps ~ lognormal(pr_eps[1], pr_eps[2]);
  lambda_abs ~ lognormal(pr_lambda_abs[1], pr_lambda_abs[2]);
  eps_r_home ~ lognormal(pr_eps_r_home[1], pr_eps_r_home[2]);
  eps_r_abroad ~ lognormal(pr_eps_r_abroad[1], pr_eps_r_abroad[2]);
  delta ~ lognormal(pr_delta[1], pr_delta[2]);
  delta_star ~ beta(pr_delta_star[1], pr_delta_star[2]);
  delta_dstar ~ normal(pr_delta_dstar[1], pr_delta_dstar[2]);  // truncation: a constant
  eps_tilde ~ lognormal(pr_eps_tilde[1], pr_eps_tilde[2]);
  lambda_tilde ~ lognormal(pr_lambda_tilde[1], pr_lambda_tilde[2]);
  sigma ~ normal(0, pr_sigma);
  mu ~ normal(pr_mu[1], pr_mu[2]);
  tau1 ~ normal(0, pr_tau1);
  tau2 ~ normal(0, pr_tau2);
  z1 ~ std_normal();
  z2 ~ std_normal();

  target += normal_lpdf(y_exact | m[i_exact], sigma);
  target += normal_lcdf(m[i_right] | c_right, sigma);
  target += normal_lcdf(lower_bound | m[i_left], sigma);
}
generated quantities {
  real intercept = 100 / eps;
  real g_IP = 100 * delta / (eps * lambda_abs);
  real g_FVA = -100 * (1 - delta_star) * eps_r_home / (eps * lambda_abs);
  real g_DVA = -100 * (1 + delta_dstar) * eps_r_abroad / eps;
  real g_IP_rta = 100 * delta / (eps_tilde * lambda_tilde);
  real g_FVA_rta = -100 * (1 - delta_star) * eps_r_home / (eps_tilde * lambda_tilde);
  real log_lik;                        // the total log-likelihood (cross-check only)
  {
    vector[N] out = intercept + g_IP * x_ip + g_FVA * x_fva + g_DVA * x_dva;
    vector[N] ins = g_IP_rta * x_ip + g_FVA_rta * x_fva;
    vector[J1] a = mu + tau1 * z1;
    vector[N] m = rta .* ins + (1 - rta) .* out + a[idx1] + tau2 * z2[idx2];
    log_lik = normal_lpdf(y_exact | m[i_exact], sigma)
              + normal_lcdf(m[i_right] | c_right, sigma)
              + normal_lcdf(lower_bound | m[i_left], sigma);
  }
}
