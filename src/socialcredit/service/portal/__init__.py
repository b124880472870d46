"""The portal at /portal: the same service in the browser, for the people it acts on and those who
oversee it. A subject signs in with their key and sees their score, tier, lists, every entitlement
with why it is denied, their events, who read their file, and contests events and follows the
appeal; a reviewer decides the queue of appeals; an auditor reads the audit log and verifies it.

Pages are rendered on the server (Jinja2, `templates/`) with one style sheet and no script. Every
page asks the same checks the API's routes ask (`auth.check_reader_of`, `routes.appeals`'
`may_list_appeals`, `may_decide` and `check_filer`, `routes.audit.may_audit`,
`routes.subjects.owner_or_admin`) and reads through the same rooms, so a read from the portal is in
the read log as one from the API is, and nothing is shown to a role that the API would refuse it.
"""

from .routes import portal

__all__ = ["portal"]
