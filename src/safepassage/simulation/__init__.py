"""A discrete-event model of the airport: households called forward arrive, pass the stations,
and board their departure or miss it."""
