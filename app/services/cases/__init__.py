"""Cases: recording contacts, starting and completing tasks, the inbox, case files, finding a case, households,
letters, handover and the case diagram."""
