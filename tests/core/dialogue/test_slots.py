from core.dialogue.slots import booking_reference, match_service, person_name, phone_number
from core.tenants.document import Service


def test_phone_numbers_read_out_in_words() -> None:
    assert phone_number("zero four one two, five five five, nine one eight") == "0412555918"
    assert phone_number("oh four double one triple two three four five") == "0411222345"
    assert phone_number("It's 0412 555 918") == "0412555918"
    assert phone_number("+61 3 9555 0142") == "+61395550142"
    assert phone_number("(312) 555-0187") == "3125550187"
    assert phone_number("five five five") is None
    assert phone_number("call me whenever") is None


def test_booking_references_read_out_in_words() -> None:
    assert booking_reference("four eight two, nine one three") == "482913"
    assert booking_reference("It's 482 913") == "482913"
    assert booking_reference("oh double seven, one two three") == "077123"
    assert booking_reference("the reference is 482913 for my booking on the 14th") == "482913"
    assert booking_reference("four eight two nine one") is None  # five digits: one was missed
    assert booking_reference("0412 555 918") is None  # a phone number is not a reference
    assert booking_reference("I don't have it") is None


def test_names() -> None:
    assert person_name("My name is jane o'brien.") == "Jane O'brien"
    assert person_name("It's Zoë") == "Zoë"
    assert person_name("yes, this is Ahmed Khan") == "Ahmed Khan"
    assert person_name("I need a plumber for my kitchen sink tomorrow please") is None
    assert person_name("0412 555 918") is None


def test_services_by_their_words() -> None:
    services = [
        Service(name="Blocked drain clearing"),
        Service(name="Hot water system service or replacement"),
        Service(name="Women's cut and finish"),
    ]
    assert match_service("my drain is blocked", services) is services[0]
    assert match_service("the hot water isn't working", services) is services[1]
    assert match_service("a haircut and blow dry, a women's cut", services) is services[2]
    assert match_service("fix my roof", services) is None


def test_extracted_details_must_be_in_what_was_said() -> None:
    from core.dialogue.slots import grounded

    assert grounded("blocked drain clearing", "I'd like someone to clear a blocked drain")
    assert grounded("10 am", "Tuesday at 10am")
    assert grounded("0412555918", "zero four one two five five five nine one eight")
    assert not grounded("next Monday", "Hi, I'd like to book someone to clear a blocked drain")
    assert not grounded("Jane Smith", "yes please")
    assert not grounded("0412555918", "my number is 0398 765 432")
