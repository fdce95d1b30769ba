"""What agents decide, told to the shop's systems: signed outbound webhooks on a durable queue.

An agent's action on a shopper request (gateway/desk/request_actions.py) puts one event on
the queue in the same transaction that changes the request, so the shop hears each action
exactly once from storechat's side (a retried or doubled click changes nothing and queues
nothing). Every gateway process delivers: a claim in Redis makes each due event one
process's at a time. Failures are retried with capped exponential backoff; after the last
try the event is failed, on the case and in the log. README: "The shop webhook".
"""
