"""Fixtures shared by the receiver tests: tenants, payload shapes from the
seed documents, and signers (hookline's and an independent one)."""

import base64
import hashlib
import hmac
import json
import time

import hookline

# Per-client secrets (rotation: acme has an old and a new one).
ACME_OLD = "whsec_" + base64.b64encode(b"A" * 32).decode()
ACME_NEW = "whsec_" + base64.b64encode(b"B" * 32).decode()
GLOBEX = "whsec_" + base64.b64encode(b"G" * 32).decode()
AGENCY = "whsec_" + base64.b64encode(b"Y" * 32).decode()
BAVIMAIL_HEX = (b"H" * 32).hex()
MAILIVERY_TOKEN = "mlv_9f3c1e0b7a5d4c2e8f6a1b3d5c7e9f0a"
SPARKPOST_BASIC = ("sparkpost", "s3cret-basic-password")


def std_key(secret):
    return base64.b64decode(secret[len("whsec_"):])


def sign_independently(secret, body, msg_id, ts):
    """Standard Webhooks headers computed with Python's hmac only."""
    content = b"%s.%d.%s" % (msg_id.encode(), ts, body)
    sig = base64.b64encode(hmac.new(std_key(secret), content, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": "v1," + sig}


def sign_hookline_scheme_independently(hex_secret, body, ts):
    mac = hmac.new(bytes.fromhex(hex_secret), b"%d.%s" % (ts, body), hashlib.sha256).hexdigest()
    return {"x-webhook-timestamp": str(ts), "x-webhook-signature": mac}


def basic_header(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def now():
    return int(time.time())


def event(i, tenant=None, etype="email.delivered"):
    e = {"id": "evt_%s" % i, "type": etype, "created_at": "2026-05-07T12:00:00Z"}
    if tenant is not None:
        e["client_id"] = tenant
    return e


def body_of(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


# SparkPost/Bird's batch shape: an array of {"msys": {"<class>_event": {...}}};
# {"msys": {}} is what their "test webhook" ping contains.
SPARKPOST_BATCH = [
    {"msys": {"message_event": {"type": "delivery", "event_id": "92356927693813856",
                                "timestamp": "1454442600", "rcpt_to": "a@example.com"}}},
    {"msys": {"track_event": {"type": "click", "event_id": "92356927693813857",
                              "timestamp": "1454442601", "rcpt_to": "a@example.com"}}},
    {"msys": {}},
]

# Mailivery's unsigned events (type / action / account), from its docs.
MAILIVERY_EVENT = {
    "type": "campaign.created",
    "action": "created",
    "account": {"campaign_id": 203, "first_name": "Josh", "last_name": "Cohen",
                "email": "josh@example.com", "provider_type": "gmail",
                "tags": ["worthcoding", "97694201"], "meta": None},
}


def make_receivers(seen):
    """The providers of a RevyOps-like multi-tenant app, one store shared
    (keys are scoped by receiver name)."""
    return {
        "standard": hookline.Receiver(
            tenants={
                "acme": hookline.Tenant(secrets=[ACME_OLD, ACME_NEW]),
                "globex": hookline.Tenant(secrets=GLOBEX),
            },
            seen=seen,
            max_body=64 * 1024,
            name="standard",
        ),
        "bavimail": hookline.Receiver(
            tenants={"acme": hookline.Tenant(secrets=BAVIMAIL_HEX, scheme="hookline")},
            seen=seen,
            name="bavimail",
        ),
        "mailivery": hookline.Receiver(
            tenants={"acme": hookline.Tenant(token=MAILIVERY_TOKEN)}, seen=seen, name="mailivery"
        ),
        "sparkpost": hookline.Receiver(
            tenants={"acme": hookline.Tenant(basic=SPARKPOST_BASIC)}, seen=seen, name="sparkpost"
        ),
    }


def make_agency_receiver(seen):
    return hookline.Receiver(
        AGENCY,
        tenant_of_event=lambda ev: ev.get("client_id"),
        known_tenants={"acme", "globex"},
        seen=seen,
        name="agency",
    )


def django_urlconf():
    """Configure Django once for the whole test run (CSRF middleware on, as
    in a real project) and return the URL conf module tests fill in."""
    import sys
    import types

    import django
    from django.conf import settings

    name = "hookline_test_urls"
    if name not in sys.modules:
        sys.modules[name] = types.ModuleType(name)
        sys.modules[name].urlpatterns = []
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF=name,
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
            LOGGING_CONFIG=None,
        )
        django.setup()
    return sys.modules[name]
