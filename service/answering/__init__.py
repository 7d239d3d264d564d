from service.answering.base import Answer, AnswerSelector, Citation, ShortAnswer
from service.answering.sentences import SentenceSelector

__all__ = ["Answer", "AnswerSelector", "Citation", "SentenceSelector", "ShortAnswer"]
