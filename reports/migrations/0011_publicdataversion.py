from django.db import migrations, models


def create_row(apps, schema_editor):
    apps.get_model("reports", "PublicDataVersion").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("reports", "0010_photo_upload")]

    operations = [
        migrations.CreateModel(
            name="PublicDataVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "public data version"},
        ),
        migrations.RunPython(create_row, migrations.RunPython.noop),
    ]
