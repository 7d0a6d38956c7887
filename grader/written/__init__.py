"""Written answers. Text is data: nothing here runs what a student wrote.

rubric: the questions with their key points, and the essay prompts (rubric.toml).
answers: the answers file, Markdown with one ``## <id>`` heading per answer: read from an upload, written from the form.
signals: plain signals of a text (words, sentences, filler, repetition, keyword lists, the prompt copied back).
scoring: the suggested score of each answer, with why, and the report's checks.
"""
