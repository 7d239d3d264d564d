from service.answering.base import Answer, AnswerSelector, Citation
from service.answering.sentences import SentenceSelector

__all__ = ["Answer", "AnswerSelector", "Citation", "SentenceSelector"]
