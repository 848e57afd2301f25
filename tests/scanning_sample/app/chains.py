from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, PromptTemplate

summary_chain_prompt = PromptTemplate.from_template(
    "Summarize the following article in {max_words} words:\n\n{article}"
)

qa_template = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a librarian. Answer from the catalogue only; say when unsure."),
        MessagesPlaceholder("history"),
        ("human", "{question}"),
    ]
)

TRANSLATE = PromptTemplate(
    input_variables=["text", "language"],
    template="Translate the text into {language}. Keep names as they are: {text}",
)


def kickoff(topic: str) -> list:
    return [
        SystemMessage(content="You are a brainstorming partner who asks one question at a time."),
        HumanMessage(content=topic),
    ]


def onboarding(first_name: str, feature: str) -> str:
    email_prompt = "Write a short welcome email to {first_name} that mentions {feature}.".format(  # noqa: UP032
        first_name=first_name, feature=feature
    )
    return email_prompt
