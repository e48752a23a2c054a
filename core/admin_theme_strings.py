# ruff: noqa: E501  (msgids must match the theme's templates character for character)
"""Words of the admin theme (Unfold) and of django-celery-beat that no installed catalogue translates well.

Unfold ships no Simplified Chinese. Most of its words are Django's or
django-import-export's and are translated by their catalogues; the rest are
listed here so that ``make messages`` carries them into ``locale/zh_Hans``,
where they are translated like our own words. The module is never imported:
it exists to be read by ``makemessages``. When Unfold is upgraded, the
translation check (``tests/core/test_translations.py``) lists the words of
its templates that are still untranslated.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

WORDS = (
    gettext_noop("Select record"),
    gettext_noop("Select action"),
    gettext_noop("Collapse"),
    gettext_noop("Value"),
    gettext_noop("Default"),
    gettext_noop("Code"),
    gettext_noop("Current file"),
    gettext_noop("Reset to default"),
    gettext_noop("From"),
    gettext_noop("To"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Not enough data."),
    gettext_noop("Add new item"),
    gettext_noop("Paragraph"),
    gettext_noop("Underlined"),
    gettext_noop("Bold"),
    gettext_noop("Italic"),
    gettext_noop("Strike"),
    gettext_noop("Link"),
    gettext_noop("Heading"),
    gettext_noop("Quote"),
    gettext_noop("Unordered list"),
    gettext_noop("Ordered list"),
    gettext_noop("Indent increase"),
    gettext_noop("Indent decrease"),
    gettext_noop("Undo"),
    gettext_noop("Redo"),
    gettext_noop("Enter an URL"),
    gettext_noop("Unlink"),
    gettext_noop("Object permissions"),
    gettext_noop("Object"),
    gettext_noop("Group"),
    gettext_noop("Group permissions"),
    gettext_noop("Edit"),
    gettext_noop("Manage group"),
    gettext_noop("User permissions"),
    gettext_noop("Manage user"),
    gettext_noop("Select format"),
    gettext_noop("This exporter will export the following fields"),
    gettext_noop("View traceback"),
    gettext_noop("Choose a date from the list below to revert to a previous version of this object"),
    gettext_noop("This object doesn't have a change history."),
    gettext_noop("Press the 'Revert' button below to revert to this version of the object."),
    gettext_noop("Press the 'Change History' button below to edit the history."),
    gettext_noop("Comment"),
    gettext_noop("Changed by"),
    gettext_noop("Change reason"),
    gettext_noop("Changes"),
    gettext_noop("Revert"),
    gettext_noop("Change History"),
    gettext_noop("Select action to run"),
    gettext_noop(
        'Raw passwords are not stored, so there is no way to see this user’s password, but you can change the password using <a href="{}" class="text-primary-600 dark:text-primary-500">this form</a>.'
    ),
    gettext_noop("Select value"),
    gettext_noop("Dataset not found. No action performed."),
    gettext_noop("You can not create nested object without parent"),
    gettext_noop("Run"),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    gettext_noop("Expand row"),
    gettext_noop("Welcome back to"),
    gettext_noop("Type to search"),
    gettext_noop("You have been successfully logged out from the administration"),
    gettext_noop("No data"),
    gettext_noop("More actions"),
    gettext_noop("All applications"),
    gettext_noop("True"),
    gettext_noop("False"),
    gettext_noop("Apply Filters"),
    gettext_noop("Select all rows"),
    gettext_noop("Recent searches"),
    gettext_noop("No recent searches"),
    gettext_noop("No results matching your query"),
    gettext_noop("Loading more results..."),
    gettext_noop("Record picture"),
    gettext_noop("This item will be deleted."),
    gettext_noop("Click to cancel"),
    gettext_noop("No results found"),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("Reset filters"),
    gettext_noop("Image preview"),
    gettext_noop("Click to download"),
    gettext_noop("Go back"),
    gettext_noop("Previous"),
    gettext_noop("Next"),
    gettext_noop("Search apps and models..."),
    gettext_noop("General"),
    gettext_noop("Light"),
    gettext_noop("Dark"),
    gettext_noop("System"),
    gettext_noop("Return to site"),
    gettext_noop("Choose file to upload"),
    gettext_noop("Toggle password visibility"),
    gettext_noop("Add row"),
    gettext_noop("Date"),
    gettext_noop("Select currency"),
)

# django-celery-beat's Chinese catalogue leaves the first untranslated and keeps English words (False, None,
# enabled) in the others; ours comes first (LOCALE_PATHS) and says them in Chinese.
CELERY_BEAT_WORDS = (
    gettext_noop("Execution Options"),
    gettext_noop("Arguments"),
    gettext_noop("Set to False to disable the schedule"),
    gettext_noop(
        "Datetime that the schedule last triggered the task to run. Reset to None if enabled is set to False."
    ),
)

# Unfold writes these two inside {% blocktrans count %}; the msgids keep the
# template's whitespace, or they would not match.
PLURALS = (
    ngettext_lazy(
        "\n                    Export %(len)s selected item.\n                ",
        "\n                    Export %(len)s selected items.\n                ",
        1,
    ),
    ngettext_lazy(
        "\n                Found %(counter)s result in %(time)s seconds\n            ",
        "\n                Found %(counter)s results in %(time)s seconds\n            ",
        1,
    ),
)
