"""The ways a contact reaches the MASH: one list for the API's validation and the inbox's channel filter."""

CHANNELS = (
    "phone",
    "online_form",
    "email",
    "police_notification",
    "ae_notification",
    "ambulance_notification",
    "nspcc",
    "information_request",
    "internal_request",
    "domestic_abuse_notification",
)
