"""Case pages: the inbox, tasks, the case page, Record a contact, the public referral form, Find a case, letters
and the case diagram."""
