"""The functional core: the operation's rules, in the standard library only."""
