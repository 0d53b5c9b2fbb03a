"""Authority.objects…with_descendants(): "an authority includes the authorities below it", at any depth."""

import pytest

from geo.models import Authority, AuthorityKind

pytestmark = pytest.mark.django_db


def authority(slug: str, kind: str, parent: Authority | None = None) -> Authority:
    return Authority.objects.create(name=slug.title(), slug=slug, kind=kind, parent=parent)


@pytest.fixture
def tree() -> dict[str, Authority]:
    county = authority("kreis", AuthorityKind.COUNTY)
    association = authority("samtgemeinde", AuthorityKind.MUNICIPAL_ASSOCIATION, county)
    return {
        "county": county,
        "association": association,
        "member": authority("mitgliedsgemeinde", AuthorityKind.MUNICIPALITY, association),
        "town": authority("stadt", AuthorityKind.MUNICIPALITY, county),
        "elsewhere": authority("anderswo", AuthorityKind.INDEPENDENT_CITY),
    }


def slugs(queryset) -> set[str]:
    return set(queryset.values_list("slug", flat=True))


def test_an_authority_includes_itself_and_everything_below_it(tree):
    assert slugs(Authority.objects.filter(slug="kreis").with_descendants()) == {
        "kreis", "samtgemeinde", "mitgliedsgemeinde", "stadt"
    }
    association = Authority.objects.filter(slug="samtgemeinde").with_descendants()
    assert slugs(association) == {"samtgemeinde", "mitgliedsgemeinde"}
    assert slugs(Authority.objects.filter(slug="mitgliedsgemeinde").with_descendants()) == {"mitgliedsgemeinde"}


def test_several_roots_give_the_union_of_their_subtrees_and_no_root_gives_none(tree):
    both = Authority.objects.filter(slug__in=["samtgemeinde", "anderswo"]).with_descendants()
    assert slugs(both) == {"samtgemeinde", "mitgliedsgemeinde", "anderswo"}
    assert slugs(Authority.objects.filter(slug="atlantis").with_descendants()) == set()


def test_the_subtree_is_one_query_and_usable_as_a_subquery(tree, django_assert_num_queries):
    subtree = Authority.objects.filter(pk=tree["association"].pk).with_descendants()
    with django_assert_num_queries(1):
        assert slugs(Authority.objects.filter(pk__in=subtree).exclude(kind=AuthorityKind.MUNICIPAL_ASSOCIATION)) == {
            "mitgliedsgemeinde"
        }


def test_a_cycle_in_a_misconfigured_tree_ends_the_recursion(tree):
    Authority.objects.filter(pk=tree["county"].pk).update(parent=tree["member"])
    assert slugs(Authority.objects.filter(slug="samtgemeinde").with_descendants()) == {
        "samtgemeinde", "mitgliedsgemeinde", "kreis", "stadt"
    }
