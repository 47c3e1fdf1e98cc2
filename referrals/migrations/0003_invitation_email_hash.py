from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0002_release_held_schedule")]

    operations = [
        migrations.RemoveConstraint(model_name="invitation", name="invitation_once_per_email"),
        migrations.RemoveField(model_name="invitation", name="email"),
        migrations.AddField(model_name="invitation", name="email_hash", field=models.CharField(default="", max_length=64),
                            preserve_default=False),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(fields=("code", "email_hash"), name="invitation_once_per_address"),
        ),
    ]
