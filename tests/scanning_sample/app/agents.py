from anthropic import Anthropic

anthropic = Anthropic()


def summarize(transcript: str) -> str:
    message = anthropic.messages.create(
        model="claude-3-5-sonnet-latest",
        max_tokens=500,
        system="Summarize support conversations in three bullet points for the team lead.",
        messages=[{"role": "user", "content": transcript}],
    )
    return message.content[0].text


def build_prompt(customer: str, days: int) -> str:
    return f"Write a friendly reminder to {customer} that their trial ends in {days} days."


class Drafter:
    def __init__(self, tone: str):
        self.tone = tone
        self.system_prompt = f"Draft replies in a {tone} tone and sign as the Acme team."


SETTINGS = {
    "model": "gpt-4o-mini",
    "system_prompt": "You turn release notes into a short customer-facing summary.",
    "error_message": "Something went wrong while talking to the model, please retry later.",
}
