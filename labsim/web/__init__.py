"""The web console of a live lab (``labsim up --web``): views of the lab in a browser.

``security`` decides which requests are served, ``views`` chooses each view's data, ``pages``
writes the HTML (all three pure); ``console`` is the thin twisted.web edge on the live lab's
reactor; ``static/`` holds the one script and style sheet the pages load.
"""
