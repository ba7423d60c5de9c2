"""hookline.Verifier.verify is a C method (no Python frame per request):
its arguments must behave as the Python method's did (keywords, `now` of
any number type or None, any header container) with the same results."""

import copy
import inspect
import pickle
import time

import pytest

import hookline
from conftest import BODY, MSG_ID, STD_A, TS


def headers():
    return hookline.sign(BODY, STD_A, msg_id=MSG_ID, timestamp=TS)


def test_positional_and_keyword_arguments_give_the_same_result():
    v = hookline.Verifier(STD_A)
    h = headers()
    a = v.verify(BODY, h, now=TS)
    assert a == v.verify(body=BODY, headers=h, now=TS) == v.verify(BODY, headers=h, now=TS)
    assert a == hookline.verify(BODY, h, STD_A, now=TS)
    assert isinstance(a, hookline.VerifyResult) and a.msg_id == MSG_ID and a.timestamp == TS


def test_now_of_other_types_and_the_clock():
    v = hookline.Verifier(STD_A)
    h = headers()
    assert v.verify(BODY, h, now=TS + 0.9).timestamp == TS
    assert v.verify(BODY, h, now=True and TS).timestamp == TS
    with pytest.raises(hookline.TimestampTooOld):
        v.verify(BODY, h)  # the clock: TS is long past
    fresh = hookline.sign(BODY, STD_A, timestamp=int(time.time()))
    assert v.verify(BODY, fresh).msg_id == fresh["webhook-id"]
    with pytest.raises(TypeError):
        v.verify(BODY, h, now="soon")


def test_other_header_containers():
    v = hookline.Verifier(STD_A)
    h = headers()
    upper = {k.upper(): val for k, val in h.items()}
    assert v.verify(BODY, upper, now=TS).msg_id == MSG_ID
    assert v.verify(BODY, list(h.items()), now=TS).msg_id == MSG_ID

    class Mapping(dict):
        pass

    assert v.verify(BODY, Mapping(h), now=TS).msg_id == MSG_ID
    with pytest.raises(hookline.MalformedHeader):
        v.verify(BODY, list(h.items()) + [("Webhook-Id", MSG_ID)], now=TS)


def test_argument_errors_are_type_errors():
    v = hookline.Verifier(STD_A)
    h = headers()
    for call in (
        lambda: v.verify(BODY),
        lambda: v.verify(BODY, h, TS),
        lambda: v.verify(BODY, h, when=TS),
        lambda: v.verify(BODY, h, body=BODY),
        lambda: v.verify(None, h, now=TS),
        lambda: v.verify(BODY, 5, now=TS),
    ):
        with pytest.raises(TypeError):
            call()


def test_signature_and_subclassing():
    params = list(inspect.signature(hookline.Verifier.verify).parameters)
    assert params == ["self", "body", "headers", "now"]
    v = hookline.Verifier(STD_A, tolerance=60)
    assert v.scheme == "standard" and v.tolerance == 60 and isinstance(v, hookline.Verifier)
    v.__init__(STD_A, tolerance=10)  # re-initialised in place
    assert v.tolerance == 10
    with pytest.raises(hookline.TimestampTooOld):
        v.verify(BODY, headers(), now=TS + 11)


def test_copy_shares_the_keyed_state_and_pickling_is_refused():
    v = hookline.Verifier(STD_A)
    c = copy.copy(v)
    assert c.verify(BODY, headers(), now=TS).msg_id == MSG_ID
    with pytest.raises(TypeError):
        copy.deepcopy(v)
    with pytest.raises(TypeError):
        pickle.dumps(v)
