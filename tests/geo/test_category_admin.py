"""The category admin: extra questions (Open311 attributes) are edited with their category."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_categorys_extra_questions_are_edited_on_the_category_page(demo, admin_client):
    from geo.models import Category

    category = Category.objects.get(slug="schlagloch")

    response = admin_client.get(f"/admin/geo/category/{category.pk}/change/", secure=True)

    assert response.status_code == 200
    assert b"questions-TOTAL_FORMS" in response.content
