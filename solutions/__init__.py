"""Reference implementations of the course: numpy, float64, CS231n conventions.

The single source of truth that the book, the instructor notebooks and the autograder use.
Never imported by released student material.
"""

from course_helpers.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from solutions.attention import attention_backward, attention_forward
from solutions.captioning import captioning_loss, captioning_sample, init_captioner_params
from solutions.gru import (
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    gru_step_forward_cho,
)
from solutions.layers import (
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from solutions.lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward, sigmoid
from solutions.rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward
from solutions.tbptt import rnn_backward_truncated, tbptt_train
from solutions.training import clip_grad_norm, sample_with_temperature, softmax_with_temperature

__all__ = [
    "attention_backward", "attention_forward",
    "captioning_loss", "captioning_sample", "init_captioner_params",
    "clip_grad_norm", "sample_with_temperature", "softmax_with_temperature",
    "eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error",
    "gru_backward", "gru_forward", "gru_step_backward", "gru_step_forward", "gru_step_forward_cho",
    "lstm_backward", "lstm_forward", "lstm_step_backward", "lstm_step_forward", "sigmoid",
    "rnn_backward", "rnn_forward", "rnn_step_backward", "rnn_step_forward",
    "rnn_backward_truncated", "tbptt_train",
    "temporal_affine_backward", "temporal_affine_forward", "temporal_softmax_loss",
    "word_embedding_backward", "word_embedding_forward",
]
