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


def test_filter_options_in_one_query_keep_protocol_order_and_skip_missing_columns():
    import duckdb

    from dashboard.queries import filter_options

    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA adam")
    # dose levels in protocol order (DOSELVL), not text order: DL-1 < DL2 < DL10; no AGEGR column
    con.execute("""CREATE TABLE adam.adsl AS SELECT * FROM (VALUES
        ('S1', 'DL10', 10, 'B', 'M'), ('S2', 'DL-1', -1, 'A', 'F'), ('S3', 'DL2', 2, NULL, 'F'),
        ('S4', 'DL2', 2, 'A', NULL), ('S5', NULL, NULL, 'C', 'M')) t(USUBJID, DOSELVLC, DOSELVL, SITEID, SEX)""")
    assert filter_options(con) == {"dose": ["DL-1", "DL2", "DL10"], "cohort": [], "site": ["A", "B", "C"],
                                   "sex": ["F", "M"], "age": []}
