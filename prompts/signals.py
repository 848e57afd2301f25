"""What prompts announces to the apps above it, so it never imports them."""

from django.dispatch import Signal

# A new version asked to go live at once (``deploy_to``); sent inside the transaction
# that writes the version, so a refused deployment undoes the version too.
# Arguments: actor, prompt, version, environment (a slug), force.
deploy_requested = Signal()
