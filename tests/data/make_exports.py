"""Write tests/data/exports/: account tables shaped like real public churn exports (committed).

Run `python tests/data/make_exports.py` after changing it. Every file is drawn from a fixed seed
(the .xlsx container aside, the bytes are the same on every run):

- telco_leaky.csv / .xlsx: IBM Telco-like (customerID, gender, SeniorCitizen, Partner, tenure,
  Contract, MonthlyCharges, TotalCharges blank for new customers) with the outcome repeated in
  disguise: `Churn Label` Yes/No, `Churn Value` 1/0, `Churn Score` 0-100 (churners 65-100),
  `Churn Reason` (blank for stayers).
- bank_leaky.csv: a bank export (`Exited` 1/0) whose `Complain` agrees with Exited on ~99.6% of rows.
- empty_numeric_column.csv / .parquet / .xlsx: a `Support calls` column with no value at all.
- tiny_class.csv: 300 accounts, 3 churned (cross-validation uses 3 folds).
- one_churner.csv: 300 accounts, 1 churned (nothing to cross-fit; the rest of the backtest stands).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from scipy.special import expit

HERE = Path(__file__).resolve().parent
OUT = HERE / "exports"
REASONS = ("Competitor offered more data", "Competitor made better offer", "Attitude of support person",
           "Price too high", "Moved", "Network reliability", "Product dissatisfaction", "Don't know")


def telco_frame(n: int = 600, seed: int = 7) -> pd.DataFrame:
    """IBM Telco-like customers; churn from a known logistic model of contract, tenure and charges."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    tenure = rng.integers(0, 73, n)
    monthly = np.round(rng.uniform(18.25, 118.75, n), 2)
    senior = (rng.random(n) < 0.16).astype(int)
    logit = (-1.2 + 1.6 * (contract == "Month-to-month") - 0.04 * tenure + 0.015 * (monthly - 65)
             + 0.5 * senior)
    churn = rng.random(n) < expit(logit)
    score = np.where(churn, rng.integers(65, 101, n), rng.integers(5, 73, n))
    total = [("" if t == 0 else f"{m * t:.2f}") for m, t in zip(monthly, tenure)]
    reason = np.where(churn, rng.choice(REASONS, n), "")
    return pd.DataFrame({
        "customerID": [f"{rng.integers(1000, 9999)}-{''.join(rng.choice(list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), 5))}"
                       for _ in range(n)],
        "gender": rng.choice(["Male", "Female"], n), "SeniorCitizen": senior,
        "Partner": rng.choice(["Yes", "No"], n), "tenure": tenure, "Contract": contract,
        "MonthlyCharges": monthly, "TotalCharges": total,
        "Churn Label": np.where(churn, "Yes", "No"), "Churn Value": churn.astype(int),
        "Churn Score": score, "Churn Reason": reason,
    })


def bank_frame(n: int = 800, seed: int = 11) -> pd.DataFrame:
    """A bank's customer export: churn (`Exited`) driven by age, activity, products and country;
    `Complain` is the outcome again, wrong on a few rows."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    active = (rng.random(n) < 0.5).astype(int)
    products = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.45, 0.04, 0.01])
    geo = rng.choice(["France", "Spain", "Germany"], n, p=[0.5, 0.25, 0.25])
    logit = -2.6 + 0.07 * (age - 38) - 0.9 * active + 0.8 * (geo == "Germany") + 1.5 * (products >= 3)
    exited = (rng.random(n) < expit(logit)).astype(int)
    complain = np.where(rng.random(n) < 0.004, 1 - exited, exited)
    return pd.DataFrame({
        "RowNumber": np.arange(1, n + 1), "CustomerId": 15_600_000 + rng.permutation(n) * 7,
        "Surname": rng.choice(["Hargrave", "Hill", "Onio", "Boni", "Mitchell", "Chu", "Bartlett"], n),
        "CreditScore": rng.integers(350, 851, n), "Geography": geo,
        "Gender": rng.choice(["Female", "Male"], n), "Age": age, "Tenure": rng.integers(0, 11, n),
        "Balance": np.round(np.where(rng.random(n) < 0.36, 0.0, rng.normal(120_000, 30_000, n)), 2),
        "NumOfProducts": products, "HasCrCard": (rng.random(n) < 0.7).astype(int), "IsActiveMember": active,
        "EstimatedSalary": np.round(rng.uniform(11, 199_992, n), 2), "Exited": exited, "Complain": complain,
    })


def small_accounts(n: int, churned: int, seed: int) -> pd.DataFrame:
    """`n` accounts, exactly `churned` of them churned (those with the fewest logins)."""
    rng = np.random.default_rng(seed)
    logins = rng.permutation(n)
    churn = logins < churned
    return pd.DataFrame({"account_id": [f"A{i:04d}" for i in range(n)], "Plan": rng.choice(["Basic", "Pro"], n),
                         "logins_30d": logins, "Seats": rng.integers(1, 50, n),
                         "Churn": np.where(churn, "Yes", "No")})


def empty_column_frame(n: int = 240, seed: int = 3) -> pd.DataFrame:
    """Accounts with a numeric column that has no value at all (a blank CRM field)."""
    df = small_accounts(n, 0, seed)
    rng = np.random.default_rng(seed + 1)
    df["Churn"] = np.where(rng.random(n) < np.where(df["logins_30d"] < n * 0.3, 0.5, 0.1), "Yes", "No")
    df["Support calls"] = np.nan
    return df


def write_xlsx(df: pd.DataFrame, path: Path) -> None:
    """One visible sheet, blanks as empty cells (as Excel writes them)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Telco_Churn"
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([None if (isinstance(v, str) and v == "") or (isinstance(v, float) and np.isnan(v))
                   else (v.item() if hasattr(v, "item") else v) for v in row])
    wb.save(path)


def main(out: Path = OUT) -> None:
    out.mkdir(exist_ok=True)
    telco = telco_frame()
    telco.to_csv(out / "telco_leaky.csv", index=False)
    write_xlsx(telco, out / "telco_leaky.xlsx")
    bank_frame().to_csv(out / "bank_leaky.csv", index=False)
    empty = empty_column_frame()
    empty.to_csv(out / "empty_numeric_column.csv", index=False)
    empty.astype({"Support calls": "float64"}).to_parquet(out / "empty_numeric_column.parquet", index=False)
    write_xlsx(empty, out / "empty_numeric_column.xlsx")
    small_accounts(300, 3, 5).to_csv(out / "tiny_class.csv", index=False)
    small_accounts(300, 1, 6).to_csv(out / "one_churner.csv", index=False)


if __name__ == "__main__":
    main()
