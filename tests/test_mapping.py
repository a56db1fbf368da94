"""Column-role detection for wide account tables, overrides and the rule set's [data] section."""

from __future__ import annotations

import pandas as pd
import pytest

from riskcore.db import Mapping
from riskcore.mapping import classify_outcome, detect_mapping, mapping_from_dict, norm, resolve_mapping


@pytest.mark.parametrize("name", ["customerID", "customer_id", "Customer ID", "account_id", "ACCOUNT-ID",
                                  "Account ID", "id", "CustomerId"])
def test_id_names_detected_ignoring_case_space_underscore(name):
    assert detect_mapping([name, "other"]).id_column == name


def test_account_id_preferred_over_plain_id():
    assert detect_mapping(["id", "Account ID", "x"]).id_column == "Account ID"


def test_roles_detected_from_crm_names():
    m = detect_mapping(["Account Name", "ARR", "CSM Owner", "Segment", "Renewal Date", "Churned", "Parent ID"])
    assert m == Mapping(id_column=None, name_column="Account Name", value_column="ARR",
                        owner_column="CSM Owner", segment_column="Segment", renewal_column="Renewal Date",
                        outcome_column="Churned", parent_column="Parent ID")


def test_monthly_and_total_charges_are_not_arr():
    m = detect_mapping(["customerID", "MonthlyCharges", "TotalCharges", "mrr", "Contract", "Churn"])
    assert m.value_column is None
    assert (m.id_column, m.outcome_column) == ("customerID", "Churn")


def test_plan_is_not_a_segment_but_tier_is():
    assert detect_mapping(["plan"]).segment_column is None
    assert detect_mapping(["plan", "Tier"]).segment_column == "Tier"


@pytest.mark.parametrize("name", ["Churn", "churned", "Exited", "Attrition", "Attrition_Flag", "Churn Value"])
def test_outcome_names(name):
    assert detect_mapping(["a", name]).outcome_column == name


def test_orange_names_need_exact_matches():
    # "Account length" must not be taken as an account id or name.
    m = detect_mapping(["State", "Account length", "Area code", "Customer service calls", "Churn"])
    assert (m.id_column, m.name_column, m.outcome_column) == (None, None, "Churn")


@pytest.mark.parametrize("values, positive", [
    (["Yes", "No"], ("Yes",)), (["TRUE", "FALSE"], ("TRUE",)), (["True", "False"], ("True",)),
    (["1", "0"], ("1",)), (["1.0", "0.0"], ("1.0",)), (["Y", "N"], ("Y",)),
    (["churned", "active"], ("churned",)), (["No"], ()),
])
def test_positive_values_detected(values, positive):
    assert classify_outcome(values) == (positive, [])


def test_unexpected_outcome_values_listed():
    assert classify_outcome(["Yes", "No", "Maybe", "unknown"]) == (("Yes",), ["Maybe", "unknown"])


def test_explicit_positive_makes_everything_else_negative():
    assert classify_outcome(["Churned", "Renewed", "Downgraded"], ("churned",)) == (("Churned",), [])


def test_sample_gives_positive_values():
    sample = pd.DataFrame({"customerID": ["a", "b"], "Churn": ["Yes", "No"]})
    assert detect_mapping(list(sample.columns), sample).outcome_positive == ("Yes",)


def test_explicit_fields_override_and_match_loosely():
    cols = ["customerID", "Company", "Total Value", "Churn"]
    m, missing = resolve_mapping(cols, Mapping(value_column="total_value", name_column="Company"))
    assert missing == []
    assert (m.id_column, m.name_column, m.value_column, m.outcome_column) == ("customerID", "Company",
                                                                             "Total Value", "Churn")


def test_explicit_missing_column_reported():
    m, missing = resolve_mapping(["customerID", "Churn"], Mapping(value_column="ARR"))
    assert missing == [("value_column", "ARR")]
    assert m.value_column is None


def test_norm():
    assert norm(" Account_ID-no. ") == "accountidno"


def test_mapping_from_dict():
    m = mapping_from_dict({"id_column": "customerID", "outcome_column": "Churn", "outcome_positive": "Yes, Y",
                           "renewal_column": "", "parent_column": "Parent"})
    assert m == Mapping(id_column="customerID", outcome_column="Churn", outcome_positive=("Yes", "Y"),
                        parent_column="Parent")
    assert mapping_from_dict({"outcome_positive": ["1", 2]}).outcome_positive == ("1", "2")
    assert mapping_from_dict({}) is None
    assert mapping_from_dict({"id_column": ""}) is None


def test_mapping_from_dict_rejects_unknown_keys_and_non_text():
    with pytest.raises(ValueError, match="id_colum"):
        mapping_from_dict({"id_colum": "x"})
    with pytest.raises(ValueError, match="value_column"):
        mapping_from_dict({"value_column": 3})
