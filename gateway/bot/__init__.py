"""The gateway's side of the bot: talking to Rasa, reading faq_data/, training.

- rasa_client.py    one turn over Rasa's HTTP channel, with timeouts
- faq.py            faq_data/ read and checked (the bot, the canned answers and the help pages use it)
- training_data.py  faq_data/ written out as Rasa training data and responses
- training.py       `storechat train`: train the model when its inputs changed
"""
