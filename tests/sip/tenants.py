"""Two businesses on the test trunk, unlike the example tenant and unlike each other."""

from __future__ import annotations

TORONTO_DID = "+14165550123"  # delivered in the Request-URI
BERLIN_DID = "+493055501234"  # delivered only in the To header
UNOWNED_DID = "+15559990000"  # the trunk routes it to the box, but no tenant owns it
HUMAN_NUMBER = "+14165550100"  # the front desk the vet clinic transfers to

VET_AFTER_HOURS = (
    "Hello, Maple Grove Veterinary Clinic. We're closed right now; "
    "I'm the clinic's AI assistant and can take a message."
)

VET = f"""
id = "maple-vet"
name = "Maple Grove Veterinary Clinic"
timezone = "America/Toronto"
description = "A small-animal veterinary clinic: dogs, cats, rabbits and guinea pigs."
address = "88 Roncesvalles Avenue, Toronto"
numbers = ["{TORONTO_DID}"]
faq = '''
A wellness exam is 85 dollars. Vaccines are from 40 dollars each.
We see emergencies during opening hours; after hours, call the Toronto Animal Emergency Hospital.
Parking is free behind the building.
'''

[hours]
mon = "08:00-18:00"
tue = "08:00-18:00"
wed = "08:00-18:00"
thu = "08:00-20:00"
fri = "08:00-17:00"
sat = "09:00-13:00"

[[services]]
name = "Wellness exam"
duration_minutes = 30
price = "$85"

[assistant]
greeting = "Hello, Maple Grove Veterinary Clinic, this is the clinic's AI assistant. How can I help?"
personality = "gentle and reassuring"

[transfer]
number = "{HUMAN_NUMBER}"
dtmf_digit = "0"

[telephony]
after_hours_greeting = "{VET_AFTER_HOURS}"
recording = true
when_busy = "message"
busy_message = "Sorry, all of our lines are busy. Please call Maple Grove again in a few minutes. Goodbye."
"""

BIKES = f"""
id = "kiez-rad"
name = "Kiezrad Fahrradwerkstatt"
timezone = "Europe/Berlin"
description = "A bicycle repair workshop in Berlin-Neukölln: repairs, servicing and used bikes."
numbers = ["{BERLIN_DID}"]
faq = "A basic service costs 49 euros. Flat tyres are fixed while you wait for 15 euros."

[hours]
mon = "10:00-19:00"
tue = "10:00-19:00"
wed = "10:00-19:00"
thu = "10:00-19:00"
fri = "10:00-19:00"
sat = "10:00-14:00"

[assistant]
greeting = "Kiezrad bike workshop, you're speaking with our AI assistant. What can I do for you?"
personality = "brisk and friendly"

[telephony]
when_busy = "reject"
"""

TENANTS = [VET, BIKES]
