"""A generated, realistic sample of activity tables whose churn follows a *known* model.

At each contract anniversary an account churns with probability
sigmoid(intercept + sum(coef * driver) + noise), the drivers being signals as of the day before the
renewal (the definitions of riskcore/signals.py). The coefficients are written to `truth.json`, so
calibration and fitted weights can be checked against the truth. Save plays (the `plays` table)
start 20-80 days before the renewal of accounts at risk, some eligible accounts held out at random;
a play multiplies the churn probability of its treated accounts by a known factor (PLAYS, also in
`truth.json`, with the effect to expect), so uplift estimates can be checked against the truth. The
plays draw from their own random stream: an account that got no play is the same as without plays. Vectorised numpy, written per
chunk of accounts, so 1,000,000 accounts run in minutes with bounded memory.

`parameters` holds the model and the generator's numbers, `arrays` the vectorised helpers; a `Chunk`
(in `generate`) draws its accounts (`accounts`), latent health and usage (`health`), tickets, invoices
and touchpoints (`activity`), renewals and plays (`renewals`) in that order, then its `tables`;
`generate` writes the folder and `truth.json`. Everything is importable from `riskcore.sample`.
"""

from .arrays import add_years, date_array, epoch_day, id_array, last_on_or_before, sigmoid, window_count
from .generate import Chunk, ensure_sample, generate_sample
from .parameters import (BILLING_MONTHS, CALLS_PER_WEEK, CHAMPION_PRE, CHAMPION_RATE, CHUNK, COEFFICIENTS, CSMS,
                         DECLINE_P, DIP_RATE, DRIVERS, EPOCH, EXEC_P, GENERATOR_VERSION, INDUSTRIES, INTERCEPT,
                         MAX_DECLINE, NAME_A, NAME_B, NAME_C, NAME_D, NOISE_SD, PAY_EPISODE, PAY_TROUBLE, PLANS, PLAYS,
                         PLAY_ELIGIBLE_P, PLAY_ENROL_P, PLAY_HORIZON, PLAY_LEAD, PRICE_PER_SEAT, QBR_NEVER, QBR_P,
                         REGIONS, REGION_P, RENEWAL_LEAD, SEATS, SEGMENTS, SHARE, STEP, TABLE_NAMES, TICKETS_PER_WEEK,
                         UTIL_BETA)

_Chunk, _day = Chunk, epoch_day  # the names tests/test_sample.py uses

__all__ = [
    "BILLING_MONTHS", "CALLS_PER_WEEK", "CHAMPION_PRE", "CHAMPION_RATE", "CHUNK", "COEFFICIENTS", "CSMS",
    "DECLINE_P", "DIP_RATE", "DRIVERS", "EPOCH", "EXEC_P", "GENERATOR_VERSION", "INDUSTRIES", "INTERCEPT",
    "MAX_DECLINE", "NAME_A", "NAME_B", "NAME_C", "NAME_D", "NOISE_SD", "PAY_EPISODE", "PAY_TROUBLE", "PLANS",
    "PLAYS", "PLAY_ELIGIBLE_P", "PLAY_ENROL_P", "PLAY_HORIZON", "PLAY_LEAD", "PRICE_PER_SEAT", "QBR_NEVER", "QBR_P",
    "REGIONS", "REGION_P", "RENEWAL_LEAD", "SEATS", "SEGMENTS", "SHARE", "STEP", "TABLE_NAMES", "TICKETS_PER_WEEK",
    "UTIL_BETA", "Chunk", "_Chunk", "_day", "add_years", "date_array", "ensure_sample", "epoch_day",
    "generate_sample", "id_array", "last_on_or_before", "sigmoid", "window_count",
]
