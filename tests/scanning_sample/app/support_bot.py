"""The support bot answers tickets for the support team, politely and in a few words."""

import logging
import textwrap

from openai import OpenAI

log = logging.getLogger(__name__)
client = OpenAI()

SYSTEM_PROMPT = "You are a helpful support assistant for Acme. Answer briefly and politely."

REFUND_PROMPT = textwrap.dedent(
    """
    Explain our refund policy to the customer.
    Refunds are possible within 30 days of purchase.
    """
)

GREETING = "Hello and welcome to the Acme support center, how can we help you today?"
template = "SELECT id, subject FROM tickets WHERE status = 'open' ORDER BY created_at"
prompt = "Yes or no?"


def classify(ticket_text: str, product: str) -> str:
    prompt = f"Classify this ticket for {product} into billing, bug or question:\n{ticket_text}"
    log.info(f"Classifying the ticket for {product} with the classifier prompt right now")
    print("Starting the support bot with the default system prompt of the Acme team")
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": prompt},
        ],
    )
    return response.choices[0].message.content


def answer(question: str, user) -> str:
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "system",
                "content": "You answer questions about Acme products in two sentences.",
            },
            {"role": "user", "content": f"{user.name} asks: {question}"},
        ],
    )
    return response.choices[0].message.content
