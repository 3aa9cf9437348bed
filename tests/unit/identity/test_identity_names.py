from services.identity.domain.names import full_name, sort_name


def test_full_and_sort_names_follow_dutch_conventions():
    assert full_name("Roos", "de", "Winter") == "Roos de Winter"
    assert full_name("Jaap", "", "Rierink") == "Jaap Rierink"
    assert sort_name("Roos", "de", "Winter") == "Winter, Roos de"
    assert sort_name("Jaap", "", "Rierink") == "Rierink, Jaap"
    assert sorted([sort_name("Roos", "de", "Winter"), sort_name("Anna", "van", "Beek")])[0].startswith("Beek")
