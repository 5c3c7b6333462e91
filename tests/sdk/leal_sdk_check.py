#!/usr/bin/env python3
"""Runs every read and write call of the official Leal Python SDK against a stampd and
checks each answer against the SDK's own models.

    leal_sdk_check.py BASE_URL TOKEN ACCOUNT_ID

For every call the answer's JSON (captured from the SDK's own HTTP client) must carry
every key the SDK's model requires, and every non-null value must have the model's type.
A null is accepted only where stampd's OpenAPI document says the field is nullable
(the contract, ../shared/API.md, keeps nulls where Leal's generated models want a
string). Exits 1 listing every mismatch, so a change that drops a field Leal clients
read cannot go unnoticed.
"""

import sys
import typing
import uuid

import httpx
import pydantic

from leal import Leal
from leal.cards.types import UpdateCardsRequestCard
from leal.posters.types import UpdatePostersRequestPoster

BASE, TOKEN, ACCOUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])

DOC = httpx.get(f"{BASE}/api/v1/openapi.json", timeout=30).json()
captured: list[httpx.Response] = []


def keep(response: httpx.Response) -> None:
    response.read()
    captured.append(response)


client = Leal(
    base_url=BASE,
    token=TOKEN,
    httpx_client=httpx.Client(event_hooks={"response": [keep]}, timeout=30),
)
problems: list[str] = []
checked = 0


# ---- stampd's OpenAPI document: which fields may be null ------------------------------


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = DOC["components"]["schemas"][name]
    return schema


def operation_schema(method: str, path: str) -> dict | None:
    """The 2xx response schema of the documented operation that `path` matches."""
    parts = path.strip("/").split("/")
    for template, item in DOC["paths"].items():
        tparts = template.strip("/").split("/")
        if len(tparts) != len(parts):
            continue
        if all(t.startswith("{") or t == p for t, p in zip(tparts, parts)):
            op = item.get(method.lower())
            if not op:
                continue
            for status, response in op["responses"].items():
                if status.startswith("2") and "content" in response:
                    return response["content"]["application/json"]["schema"]
    return None


def nullable(schema: dict | None, key: str) -> bool:
    if schema is None:
        return False
    schema = resolve(schema)
    prop = schema.get("properties", {}).get(key)
    if prop is None:
        return False
    prop = prop if "$ref" not in prop else {**resolve(prop), **prop}
    return bool(prop.get("nullable"))


def child(schema: dict | None, key: str | None) -> dict | None:
    if schema is None:
        return None
    schema = resolve(schema)
    if key is None:  # an array's items
        items = schema.get("items")
        return resolve(items) if items else None
    prop = schema.get("properties", {}).get(key)
    return resolve(prop) if prop else None


# ---- the SDK's models ----------------------------------------------------------------


def check(annotation, value, schema: dict | None, at: str) -> None:
    """Does `value` (JSON) fit the SDK's `annotation`?"""
    global checked
    checked += 1
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is typing.Any or annotation is object:
        return
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        if value is None:
            return
        if len(options) == 1:
            return check(options[0], value, schema, at)
        return
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if not isinstance(value, dict):
            problems.append(f"{at}: expected an object, got {value!r:.80}")
            return
        for name, field in annotation.model_fields.items():
            key = field.alias or name
            if key not in value:
                if field.is_required():
                    problems.append(f"{at}.{key}: missing (the SDK requires it)")
                continue
            v = value[key]
            if v is None:
                if field.is_required() and not nullable(schema, key) and not optional(field.annotation):
                    problems.append(
                        f"{at}.{key}: null, but stampd's OpenAPI document does not say it may be"
                    )
                continue
            check(field.annotation, v, child(schema, key), f"{at}.{key}")
        return
    if origin in (list, typing.List):
        if not isinstance(value, list):
            problems.append(f"{at}: expected a list, got {value!r:.80}")
            return
        for i, item in enumerate(value):
            check(args[0] if args else typing.Any, item, child(schema, None), f"{at}[{i}]")
        return
    if origin in (dict, typing.Dict):
        if not isinstance(value, dict):
            problems.append(f"{at}: expected an object, got {value!r:.80}")
        return
    if value is None:
        return
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif annotation is str:
        # The SDK's generated models type some lists of objects (customer_cards,
        # external_references, available_rewards, customers) as lists of strings; the
        # contract sends objects there. An object is right where stampd's own document
        # says an object goes; anywhere else a string is wanted.
        ok = isinstance(value, str) or (
            isinstance(value, dict) and schema is not None and resolve(schema).get("type") == "object"
        )
    else:
        ok = True  # dates and the like arrive as strings the SDK parses itself
    if not ok:
        problems.append(f"{at}: expected {getattr(annotation, '__name__', annotation)}, got {value!r:.80}")


def optional(annotation) -> bool:
    return typing.get_origin(annotation) is typing.Union and type(None) in typing.get_args(annotation)


def call(name: str, method, *args, **kwargs):
    """Calls the SDK and checks the answer it got against the model it returns."""
    captured.clear()
    try:
        method(*args, **kwargs)
    except pydantic.ValidationError:
        pass  # the SDK's own parse is stricter about nulls than the contract; checked below
    except Exception as e:  # an HTTP error: reported with the answer below
        if not captured:
            problems.append(f"{name}: {e}")
            return None
    response = captured[-1]
    if response.status_code >= 300:
        problems.append(f"{name}: HTTP {response.status_code} {response.text[:200]}")
        return None
    if response.status_code == 204:
        return None
    body = response.json()
    hints = typing.get_type_hints(method)
    schema = operation_schema(response.request.method, response.request.url.path)
    check(hints["return"], body, schema, name)
    return body


# ---- every call ----------------------------------------------------------------------
# A create that fails is reported; the calls that need what it would have made are
# skipped (they could only fail the same way).

c = client
run = uuid.uuid4().hex[:8]
call("status.check", c.status.check)
call("stores.list", c.stores.list)
call("stores.get", c.stores.get, ACCOUNT)
call("stores.update", c.stores.update, ACCOUNT, account={"store_name": "Corner Coffee"})

card = call("cards.create", c.cards.create, ACCOUNT,
            card={"name": "Coffee", "stamps_required": 8, "initial_stamps": 1,
                  "strip_opacity": 60, "auxiliary_fields": ["Open 7-19", "Oat milk free"]})
call("cards.list", c.cards.list, ACCOUNT)
call("cards.list(scope=all)", c.cards.list, ACCOUNT, scope="all")
if card:
    call("cards.get", c.cards.get, ACCOUNT, card["id"])
    call("cards.update", c.cards.update, ACCOUNT, card["id"], card={"header_text": "Thanks!"})
    # The SDK's own request models send its float fields as floats (55.0).
    call("cards.update(model)", c.cards.update, ACCOUNT, card["id"],
         card=UpdateCardsRequestCard(strip_opacity=55, auxiliary_fields=["Open 7-19", ""]))
    reward = call("rewards.create", c.rewards.create, ACCOUNT,
                  reward={"card_id": card["id"], "name": "Free coffee", "stamps_required": 3})
    call("rewards.list", c.rewards.list, ACCOUNT)
    call("rewards.list(card_id, active)", c.rewards.list, ACCOUNT, card_id=card["id"], active="true")
    if reward:
        call("rewards.get", c.rewards.get, ACCOUNT, reward["id"])
        call("rewards.update", c.rewards.update, ACCOUNT, reward["id"],
             reward={"description": "Any size"})

    customer = call("customers.create", c.customers.create, ACCOUNT,
                    customer={"first_name": "Ann", "last_name": "Lee",
                              "email": f"ann-{run}@example.com", "phone": None,
                              "metadata": {"tier": "gold"},
                              "external_references": [{"source": "pos", "external_id": f"A-{run}"}]},
                    card_id=card["id"])
    call("customers.create(no card)", c.customers.create, ACCOUNT,
         customer={"first_name": "Bob", "email": f"bob-{run}@example.com"})
    call("customers.list", c.customers.list, ACCOUNT)
    call("customers.list(search)", c.customers.list, ACCOUNT, search="ann", page=1, items=5)
    call("customers.list(source, external_id)", c.customers.list, ACCOUNT,
         source="pos", external_id=f"A-{run}")
    if customer:
        call("customers.get", c.customers.get, ACCOUNT, customer["id"])
        call("customers.update", c.customers.update, ACCOUNT, customer["id"],
             customer={"last_name": "Lee-Smith"})
        cc = customer["customer_card"]["id"]
        call("customer_cards.list", c.customer_cards.list, ACCOUNT, customer["id"])
        call("customer_cards.get", c.customer_cards.get, ACCOUNT, customer["id"], cc)
        call("customer_cards.stamp", c.customer_cards.stamp, ACCOUNT, customer["id"], cc, stamps=3)
        call("customer_cards.stamp(skip_notifications)", c.customer_cards.stamp, ACCOUNT,
             customer["id"], cc, stamps=1, skip_notifications=True)
        if reward:
            call("customer_cards.redeem", c.customer_cards.redeem, ACCOUNT, customer["id"], cc,
                 reward_id=reward["id"])

    poster = call("posters.create", c.posters.create, ACCOUNT,
                  poster={"card_id": card["id"], "contact_collection_mode": "email_only",
                          "require_birthday": True, "minimum_age": 16})
    call("posters.list", c.posters.list, ACCOUNT)
    call("posters.list(card_id, active)", c.posters.list, ACCOUNT, card_id=card["id"], active="true")
    if poster:
        call("posters.get", c.posters.get, ACCOUNT, poster["id"])
        call("posters.update", c.posters.update, ACCOUNT, poster["id"], poster={"paper_size": "a5"})
        call("posters.update(model)", c.posters.update, ACCOUNT, poster["id"],
             poster=UpdatePostersRequestPoster(minimum_age=18, require_email=True))
        call("posters.delete", c.posters.delete, ACCOUNT, poster["id"])
    if reward:
        call("rewards.delete", c.rewards.delete, ACCOUNT, reward["id"])

location = call("locations.create", c.locations.create, ACCOUNT,
                location={"name": "Main St", "address": "1 Main St",
                          "latitude": 37.7, "longitude": -122.4})
call("locations.list", c.locations.list, ACCOUNT)
if location:
    call("locations.get", c.locations.get, ACCOUNT, location["id"])
    call("locations.update", c.locations.update, ACCOUNT, location["id"],
         location={"name": "Main Street"})
    call("locations.delete", c.locations.delete, ACCOUNT, location["id"])

# Webhook subscriptions. `.invalid` never resolves (RFC 2606): `test` reaches nothing
# and answers how it failed.
ws = c.webhook_subscriptions
hooks_url = "https://hooks.invalid/stampd"
hook = call("webhook_subscriptions.create", ws.post_api_v1accounts_account_id_webhook_subscriptions,
            ACCOUNT, target_url=hooks_url, events=["stamp.earned", "reward.redeemed"],
            description="POS")
call("webhook_subscriptions.create(event, flat)",
     ws.post_api_v1accounts_account_id_webhook_subscriptions, ACCOUNT, target_url=hooks_url,
     event="customer.created", payload_format="flat")
call("webhook_subscriptions.list", ws.get_api_v1accounts_account_id_webhook_subscriptions, ACCOUNT)
call("webhook_subscriptions.list(event)", ws.get_api_v1accounts_account_id_webhook_subscriptions,
     ACCOUNT, event="stamp.earned")
if hook:
    call("webhook_subscriptions.get", ws.get_api_v1accounts_account_id_webhook_subscriptions_id,
         ACCOUNT, hook["id"])
    call("webhook_subscriptions.update", ws.patch_api_v1accounts_account_id_webhook_subscriptions_id,
         ACCOUNT, hook["id"], enabled=False, description="Till")
    call("webhook_subscriptions.rotate_secret",
         ws.post_api_v1accounts_account_id_webhook_subscriptions_id_rotate_secret, ACCOUNT, hook["id"])
    call("webhook_subscriptions.test",
         ws.post_api_v1accounts_account_id_webhook_subscriptions_id_test, ACCOUNT, hook["id"])
    call("webhook_subscriptions.delete",
         ws.delete_api_v1accounts_account_id_webhook_subscriptions_id, ACCOUNT, hook["id"])

if problems:
    print(f"leal-sdk check: {len(problems)} problem(s) in {checked} values checked:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"leal-sdk check: every call answered as the SDK's models expect ({checked} values checked)")
