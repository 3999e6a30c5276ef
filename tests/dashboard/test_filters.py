from dashboard.filters import Filters, from_query_params, subject_predicate, to_query_params


def test_filters_round_trip_through_the_url():
    f = Filters(dose=("DL1", "DL2"), sex=("F",))
    params = to_query_params(f)
    assert params == {"dose": ["DL1", "DL2"], "sex": ["F"]}
    assert from_query_params(params) == f


def test_comma_separated_and_repeated_values_are_accepted_without_duplicates():
    f = from_query_params({"dose": ["DL1,DL2", "DL2"], "site": "701", "unknown": "x"})
    assert f.dose == ("DL1", "DL2") and f.site == ("701",) and not f.cohort


def test_predicate_is_parameterised():
    evil = "DL1') OR TRUE --"
    sql, params = subject_predicate(Filters(dose=(evil,), age=("18-65",)), "s")
    assert evil not in sql and params == [evil, "18-65"]
    assert sql == 's."DOSELVLC" IN (?) AND s."AGEGR" IN (?)'
    assert subject_predicate(Filters()) == ("TRUE", [])
