"""Write the bad-input corpus tests/data/bad/ and the small good tables tests/data/good/ (committed).

Run `python tests/data/make_bad.py` after changing it; the bytes are deterministic except the
.xlsx/.parquet containers, which the tests read back rather than compare.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
GOOD = HERE / "good"

HEADER = "customerID,Company,ARR,Segment,Churn\n"

# a bank-churn export (the public Kaggle "Churn_Modelling" layout) with two customers' Age left empty
BANK_CSV = """\
RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,Balance,NumOfProducts,HasCrCard,IsActiveMember,\
EstimatedSalary,Exited
1,15634602,Hargrave,619,France,Female,42,2,0,1,1,1,101348.88,1
2,15647311,Hill,608,Spain,Female,,1,83807.86,1,0,1,112542.58,0
3,15619304,Onio,502,France,Female,42,8,159660.8,3,1,0,113931.57,1
4,15701354,Boni,699,France,Female,39,1,0,2,0,0,93826.63,0
5,15737888,Mitchell,850,Spain,Female,43,2,125510.82,1,1,1,79084.1,0
6,15574012,Chu,645,Spain,Male,,8,113755.78,2,1,0,149756.71,1
7,15592531,Bartlett,822,France,Male,50,7,0,2,1,1,10062.8,0
8,15656148,Obinna,376,Germany,Female,29,4,115046.74,4,1,0,119346.88,1
"""

TEXT_FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank_lines.csv": b"\n  \n\n",
    "header_only.csv": HEADER.encode(),
    "bom.csv": b"\xef\xbb\xbf" + (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,2000,Enterprise,Yes\n").encode(),
    "semicolon.csv": b"customerID;Company;ARR;Churn\nC1;Acme, Inc.;1000.5;No\nC2;Beta;2000;Yes\n",
    "tab.tsv": b"customerID\tCompany\tARR\tChurn\nC1\tAcme\t1000\tNo\nC2\tBeta Ltd\t2000\tYes\n",
    "pipe.txt": b"customerID|Company|ARR|Churn\nC1|Acme|1000|No\nC2|Beta|2000|Yes\n",
    "quoted_newlines.csv": (HEADER + 'C1,"Acme\nNorth, Inc.",1000,SMB,No\nC2,"Beta ""B"" Ltd",2000,SMB,Yes\n'
                            'C3,Gamma,3000,Enterprise,No\n').encode(),
    "latin1.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Müller Gmbh,2000,SMB,Yes\nC3,Señor Café,3000,SMB,No\n"
                   ).encode("latin-1"),
    "utf16.csv": (HEADER + "C1,Acme,1000,SMB,No\n").encode("utf-16"),
    "binary_xlsx_renamed.csv": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)),
    "duplicate_ids.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,2000,SMB,No\nC3,Gamma,3000,SMB,Yes\n"
                          "C2,Beta again,2500,SMB,No\n").encode(),
    "blank_ids.csv": (HEADER + "C1,Acme,1000,SMB,No\n,Beta,2000,SMB,No\nC3,Gamma,3000,SMB,Yes\n"
                      "   ,Delta,4000,SMB,No\n").encode(),
    "missing_mapped_column.csv": b"account_id,account_name,annual_value\nA1,Acme,1000\nA2,Beta,2000\n",
    "arr_currency_text.csv": (HEADER + 'C1,Acme,"$1,200.50",SMB,No\nC2,Beta,800,SMB,No\n'
                              'C3,Gamma,"$1,000",SMB,Yes\nC4,Delta,,SMB,No\n').encode(),
    "arr_unparsable.csv": (HEADER + 'C1,Acme,1000,SMB,No\nC2,Beta,"1.200,50 €",SMB,No\n'
                           "C3,Gamma,twelve,SMB,Yes\n").encode(),
    "arr_negative.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,-250,SMB,No\nC3,Gamma,3000,SMB,Yes\n").encode(),
    "blank_numbers.csv": (b"customerID,tenure,MonthlyCharges,TotalCharges,Churn\n"
                          b"7590-VHVEG,1,29.85,29.85,No\n5575-GNVDE,0,56.95, ,No\n"
                          b"3668-QPYBK,2,53.85,108.15,Yes\n4472-LVYGI,0,52.55, ,No\n"),
    "dates_us.csv": b"account_id,renewal_date\nA1,01/31/2026\nA2,2/1/2026\nA3,12/15/2025\n",
    "dates_dotted.csv": b"account_id,renewal_date\nA1,31.01.2026\nA2,1.2.2026\nA3,15.12.2025\n",
    "dates_day_first_slash.csv": b"account_id,renewal_date\nA1,31/01/2026\nA2,01/02/2026\nA3,15/12/2025\n",
    "dates_mixed_iso_dotted.csv": b"account_id,renewal_date\nA1,2026-01-31\nA2,01.02.2026\nA3,2025-12-15\n",
    "dates_ambiguous_mix.csv": b"account_id,renewal_date\nA1,01/13/2026\nA2,05/06/2026\nA3,13/01/2026\n",
    "dates_invalid.csv": b"account_id,renewal_date\nA1,2026-01-31\nA2,2026-02-30\nA3,soon\nA4,\n",
    "outcome_unexpected.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,2000,SMB,Maybe\nC3,Gamma,3000,SMB,Yes\n"
                               "C4,Delta,4000,SMB,unknown\n").encode(),
    "outcome_exited_1_0.csv": b"CustomerId,Surname,Balance,Exited\n15634602,Hargrave,0,1\n15647311,Hill,83807.86,0\n"
                              b"15619304,Onio,159660.8,1\n",
    "outcome_churned_active.csv": b"id,status_text,churned\n1,x,churned\n2,y,active\n3,z,Active\n",
    "ragged_rows.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,2000,SMB,No,extra\nC3,Gamma,3000,SMB,Yes\n"
                        ).encode(),
    "unclosed_quote.csv": (HEADER + 'C1,Acme,1000,SMB,No\nC2,"Beta,2000,SMB,No\nC3,Gamma,3000,SMB,Yes\n').encode(),
    "duplicate_headers.csv": b"customerID,Segment,segment,,ARR\nC1,SMB,Mid,x,100\nC2,Ent,Large,y,200\n",
    "blank_rows.csv": (HEADER + "C1,Acme,1000,SMB,No\n,,,,\nC2,Beta,2000,SMB,Yes\n , , , , \n").encode(),
    "leading_zeros.csv": b"account_number,zip,seats\n00123,02139,10\n00456,10001,20\n",
    "canonical_clash.csv": b"customerID,account_id,arr\nC1,legacy-9,100\nC2,legacy-8,200\n",
    "blank_numeric_cells.csv": (b"customerID,Company,ARR,Seats,Logins,Churn\nC1,Acme,1000,10,,No\n"
                                b"C2,Beta,2000,15,12,Yes\nC3,Gamma,3000,25,,No\nC4,Delta,4000,40,7,No\n"),
    "all_blank_column.csv": b"customerID,ARR,Discount,NPS,Churn\nC1,1000,,NA,No\nC2,2000,,,Yes\nC3,3000,, ,No\n",
    "bank_age_blanks.csv": BANK_CSV.encode(),
    "thousands_separators.csv": (b'customerID,ARR,api_calls,Churn\nC1,1000,"1,234",No\nC2,2000,87,Yes\n'
                                 b'C3,3000,"12,001",No\nC4,4000,"1,000,000",No\n'),
    "percent_values.csv": (b"customerID,ARR,discount,Churn\nC1,1000,45%,No\nC2,2000,12.5%,Yes\nC3,3000,0,No\n"
                           b"C4,4000,100 %,No\n"),
    "mixed_separator_text.csv": (b'customerID,ARR,api_calls,Churn\nC1,1000,"1,234",No\nC2,2000,unknown,Yes\n'
                                 b"C3,3000,87,No\n"),
    "arr_infinity.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,inf,SMB,No\nC3,Gamma,Infinity,SMB,Yes\n"
                         "C4,Delta,-inf,SMB,No\nC5,Epsilon,3000,SMB,No\n").encode(),
    "arr_nan.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,-nan,SMB,No\nC3,Gamma,NaN,SMB,Yes\n"
                    "C4,Delta,2500,SMB,No\n").encode(),
    "arr_1e309.csv": (HEADER + "C1,Acme,1000,SMB,No\nC2,Beta,1e309,SMB,No\nC3,Gamma,3000,SMB,Yes\n").encode(),
    "numeric_inf_other_column.csv": (b"customerID,ARR,usage_ratio,Churn\nC1,1000,0.5,No\nC2,2000,inf,Yes\n"
                                     b"C3,3000,-nan,No\nC4,4000,1e309,No\nC5,5000,0.25,No\n"),
    "trailing_separators.csv": b"customerID,ARR,Churn,,\nC1,1000,No,,\nC2,2000,Yes,,\nC3,3000,No, ,\n",
    "unknown_extension.json": b'{"customerID": "C1"}\n',
    "not_parquet.parquet": b"customerID,ARR\nC1,100\n",
    "not_excel.xlsx": b"customerID,ARR\nC1,100\n",
}


def write_excel(path: Path) -> None:
    """A workbook with three sheets: accounts first, then notes and an old export."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Accounts"
    ws.append(["customerID", "Company", "ARR", "Renewal Date", "Churn"])
    ws.append(["C1", "Acme", 1200.5, date(2026, 3, 31), "No"])
    ws.append(["C2", "Beta", 800, date(2026, 1, 15), "Yes"])
    ws.append(["C3", "Gamma", 3000, None, "No"])
    notes = book.create_sheet("Notes")
    notes.append(["exported by", "CRM"])
    old = book.create_sheet("Old export")
    old.append(["customerID", "ARR"])
    old.append(["X9", 5])
    book.save(path)


def write_parquet(path_bad: Path, path_good: Path) -> None:
    """Wrong types (ARR as text with a word, id as float) and a correctly typed table."""
    pq.write_table(pa.table({
        "account_id": pa.array([1.0, 2.0, 3.0]),
        "arr": pa.array(["1000", "unknown", "3000"]),
        "churned": pa.array([0, 1, 0], pa.int64()),
    }), path_bad)
    pq.write_table(pa.table({
        "account_id": pa.array(["A1", "A2", "A3"]),
        "account_name": pa.array(["Acme", "Beta", "Gamma"]),
        "arr": pa.array([1000.0, 2500.0, 400.0]),
        "segment": pa.array(["SMB", "Enterprise", "SMB"]),
        "renewal_date": pa.array([date(2026, 1, 31), date(2025, 12, 1), None], pa.date32()),
        "churned": pa.array([False, True, False]),
        "seats": pa.array([10, 250, 3], pa.int64()),
    }), path_good)


def write_excel_cases(bad: Path) -> None:
    """Workbooks: a stray space / value in the last cell (XFD1048576), a hidden first sheet, blank cells."""
    for name, stray in (("excel_far_cell.xlsx", " "), ("excel_far_value.xlsx", "x")):
        book = openpyxl.Workbook()
        ws = book.active
        ws.title = "Accounts"
        for row in (["customerID", "ARR", "Churn"], ["C1", 1000, "No"], ["C2", 2000, "Yes"], ["C3", 3000, "No"]):
            ws.append(row)
        ws.cell(row=1048576, column=16384, value=stray)
        book.save(bad / name)
    book = openpyxl.Workbook()
    lookup = book.active
    lookup.title = "Lookup"
    lookup.append(["code", "label"])
    lookup.append(["SMB", "Small business"])
    lookup.sheet_state = "hidden"
    ws = book.create_sheet("Accounts")
    for row in (["customerID", "ARR", "Segment", "Churn"], ["C1", 1000, "SMB", "No"], ["C2", 2000, "SMB", "Yes"]):
        ws.append(row)
    book.save(bad / "excel_hidden_first_sheet.xlsx")
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Accounts"
    for row in (["customerID", "ARR", "Age", "NPS", "Churn"], ["C1", 1000, 42, None, "No"],
                ["C2", 2000, None, None, "Yes"], ["C3", 3000, 35, None, "No"]):
        ws.append(row)
    book.save(bad / "excel_blank_column.xlsx")


def write_parquet_cases(bad: Path) -> None:
    """Doubles that are not finite (NaN, inf) in ARR and elsewhere; an all-NULL and a blank-text column."""
    pq.write_table(pa.table({
        "account_id": ["A1", "A2", "A3", "A4"],
        "arr": pa.array([1000.0, 2000.0, 3000.0, 4000.0]),
        "usage_ratio": pa.array([0.5, float("nan"), float("inf"), 0.1]),
        "churned": pa.array([False, True, False, False]),
    }), bad / "nonfinite.parquet")
    pq.write_table(pa.table({
        "account_id": ["A1", "A2", "A3"],
        "arr": pa.array([1000.0, float("nan"), float("-inf")]),
        "churned": pa.array([False, True, False]),
    }), bad / "arr_nonfinite.parquet")
    pq.write_table(pa.table({
        "account_id": ["A1", "A2", "A3"],
        "arr": pa.array([1000.0, 2000.0, 3000.0]),
        "nps": pa.nulls(3),
        "tenure": pa.array(["12", "", None]),
        "churned": pa.array([False, True, False]),
    }), bad / "parquet_blank_columns.parquet")


GOOD_CSV = {
    "accounts.csv": ("account_id,account_name,arr,csm_owner,segment,renewal_date,churned,logins_30d\n"
                     "A1,Acme,12000,Dana,SMB,2026-03-31,No,40\n"
                     "A2,Beta,50000,Lee,Enterprise,2026-01-15,Yes,3\n"
                     "A3,Gamma,8000,Dana,SMB,2025-12-01,No,25\n"),
    "accounts_v2.csv": ("account_id,account_name,arr,churned\n"
                        "B1,Delta,100,No\nB2,Epsilon,200,No\n"),
}


def main() -> None:
    BAD.mkdir(parents=True, exist_ok=True)
    GOOD.mkdir(parents=True, exist_ok=True)
    for name, data in TEXT_FILES.items():
        (BAD / name).write_bytes(data)
    write_excel(BAD / "several_sheets.xlsx")
    write_parquet(BAD / "wrong_types.parquet", GOOD / "typed.parquet")
    write_excel_cases(BAD)
    write_parquet_cases(BAD)
    for name, text in GOOD_CSV.items():
        (GOOD / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
