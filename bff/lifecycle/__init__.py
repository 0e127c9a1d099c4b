"""The lifecycle tab and the repurchase loop: owned products, stages, maintenance, replenishment.

rules.py      the tunable numbers (dormancy, reminder lead, ranges), one frozen dataclass
estimator.py  days per unit from the SKU's prior and the user's evidence (docs/replenishment.md)
stages.py     stage of an owned product, maintenance due: pure functions of facts
projection.py a delivered order's lines become owned products and restart replenishment cycles
actions.py    snooze / set cycle / dismiss (the mutations' services)
queries.py    the lifecycle tab as the viewer sees it
reminders.py  what a lifecycle notice is about, re-checked when it is sent
scans.py      the replenishment and maintenance scans (cron jobs in tasks/lifecycle.py)
"""
