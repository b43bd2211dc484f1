from accounts.models import Org


def org_rename(*, org: Org, name: str) -> Org:
    org.name = name
    org.save(update_fields=["name"])
    return org
