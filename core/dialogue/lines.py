"""The fixed lines the flow speaks, and how dates, times and numbers are said aloud.

These are the turns where exact words matter (reading details back before committing, what was booked, a
safety line), so they are not left to a small model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time


def spoken_time(t: time) -> str:
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    if t.hour == 12 and t.minute == 0:
        return "midday"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"


def spoken_day(day: date, today: date) -> str:
    if day == today:
        return "today"
    if (day - today).days == 1:
        return "tomorrow"
    suffix = "th" if 11 <= day.day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return f"{day.strftime('%A')} the {day.day}{suffix} of {day.strftime('%B')}"


def spoken_when(moment: datetime, today: date) -> str:
    return f"{spoken_day(moment.date(), today)} at {spoken_time(moment.time())}"


def spoken_number(digits: str) -> str:
    """Digits in small groups, each read on its own. International numbers end in a group of four
    ('+13125550142' -> 'plus 1, 3 1 2, 5 5 5, 0 1 4 2'); national ones end in two groups of three
    ('0412555918' -> '0 4 1 2, 5 5 5, 9 1 8')."""
    if digits.startswith("+"):
        rest, groups = digits[1:-4], [digits[-4:]]
        while rest:
            groups.insert(0, rest[-3:])
            rest = rest[:-3]
        return "plus " + ", ".join(" ".join(group) for group in groups)
    head = max(2, len(digits) - 6)
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return ", ".join(" ".join(group) for group in groups if group)


def spoken_reference(reference: str) -> str:
    """A booking reference in groups of three digits, each read on its own ('482913' -> '4 8 2, 9 1 3')."""
    return ", ".join(" ".join(reference[i : i + 3]) for i in range(0, len(reference), 3))


def choices(options: Sequence[str]) -> str:
    options = list(options)
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


ANYTHING_ELSE = "Is there anything else I can help with?"
ASK = {
    "service": "Which service do you need? We do {services}.",
    "when": "What day and time would suit you?",
    "name": "Can I have your name, please?",
    "phone": "And what's the best phone number to reach you on?",
    "phone_check": "Is {number} the best number to reach you on?",
    "address": "What's the address?",
    "reason": "What's it about?",
    "message": "What would you like me to pass on?",
    "booking_ref": "What's the booking reference? It's the six-digit number we gave you when you booked.",
    "booking_name": "And what name is the booking under?",
}
AGAIN = {
    "phone": "Sorry, I didn't get the whole number. Could you say it again, one digit at a time?",
    "name": "Sorry, I didn't catch your name. Could you say it again?",
    "when": "Sorry, I didn't catch the day and time. When would suit you?",
    "service": "Sorry, which of these do you need: {services}?",
    "booking_ref": "Sorry, I need the six digits of the booking reference. Could you say them one at a time?",
}
OFFER = "The nearest free times are {options}. Would one of those suit?"
OFFER_ONE = "The nearest free time is {option}. Would that suit?"
NO_SLOTS = "Sorry, I can't see any free times in the next few weeks. Would you like me to take a message instead?"
CONFIRM_BOOKING = "Just to confirm: {service} {when}, for {name}, on {phone}. Shall I book that?"
BOOKED = "You're booked in for {when}. Your booking reference is {reference}."
TEXT_COMING = "We'll send you a text to confirm."
NOTE_IT = "Please make a note of it, as we won't be sending a text."
TAKEN = "Sorry, that time was just taken. " + OFFER
CONFIRM_LEAD = "So that's {name} on {phone}, about {reason}. Shall I pass that on to the team?"
LEAD_DONE = "Thanks, I've passed that on, and someone will get back to you {when}."
CONFIRM_MESSAGE = "So the message from {name} on {phone} is: {message}. Shall I send that to the team?"
MESSAGE_DONE = "Thanks, I've sent your message to the team."
DROPPED = "No problem, I haven't {what}."
WHAT_CHANGE = "What would you like to change?"
# Said when the business's own facts disagree (two prices for one service): both, and the team confirms.
TWO_ANSWERS = (
    "I have two answers for that. Our list says: {one} But we also say: {other} "
    "Would you like me to take a message so the team can confirm?"
)
# Said when the model's answer to a request was only "Sure.": what the caller can get done here.
WHAT_TO_DO = "I can book you in, answer a question about us, or take a message for the team. What would you like?"
FOUND_BOOKING = "I can see your {service} on {when}. Shall I cancel it?"
FOUND_FOR_MOVE = "I can see your {service} on {when}. When would you like to move it to?"
CONFIRM_MOVE = "So that's moving your {service} to {when}. Shall I do that?"
CANCELLED = "Done: your booking for {when} is cancelled."
MOVED = "Done: your {service} is now {when}."
NEW_REFERENCE = "Your new booking reference is {reference}."
NOT_UNDER_CALLER_ID = "I can't see a booking under the number you're calling from."
NO_REFERENCE_MATCH = "Sorry, I can't find a booking with reference {reference} under the name {name}."
CHECK_REFERENCE = "Could you check the reference and say it again?"
NO_BOOKING = (
    "Sorry, I still can't find a booking with that reference and name, so I can't change it over the phone. "
    "Would you like me to take a message for the team?"
)
EMERGENCY = "That sounds urgent. I'm alerting the team right now."
EMERGENCY_DETAILS = "So they can get straight to you, what's the address?"
EMERGENCY_SENT = "Thanks. The team has your details and will contact you as soon as possible."
HANDOVER = "Of course. I'm putting you through to someone from the team now, please hold."
OFFER_PERSON = "I can put you through to someone from the team. Would you like that?"
NOBODY = "There's no one available to take your call right now. Can I take a message for the team?"
WRONG_NUMBER = "I think you may have the wrong number: this is {business}. Is there anything I can help you with?"
GOODBYE = "Thanks for calling {business}. Goodbye!"
CANT_DO = "Sorry, I'm not able to do that right now. Would you like me to take a message for the team?"
UNAVAILABLE = "Sorry, I can't check that right now. Would you like me to take a message instead?"
# Said instead of a figure that nothing in the call accounts for (a small model made one up): a price, or any other
# detail (a time, a date, a number).
UNSURE_PRICE = (
    "Sorry, I can't give you that price right now. Would you like me to take a message so the team can let you know?"
)
UNSURE_DETAIL = (
    "Sorry, I can't confirm that detail right now. Would you like me to take a message so the team can let you know?"
)
DONT_KNOW = "I'm sorry, I don't know that. Would you like me to take a message so the team can get back to you?"
REFUSE_INSTRUCTIONS = "Sorry, I can't share that. Is there anything I can help you with at {business}?"
FILLER = "One moment while I check."
NO_CARDS = (
    "For your security, I can't take card details over the phone, and I haven't kept what you read out. "
    "The team will tell you how to pay."
)
