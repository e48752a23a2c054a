"""The scan pages (/scan/): the floor's steps on a phone or a PDA with a scanner that types the code and presses
Enter. ``views`` holds what every page shares (login, the warehouse, the permission check, the scan answer, what a
page remembers between scans); each step has its own module (``receive``, ``put_away``, ``pick``, ``sort``,
``pack``, ``fast_lane``, ``hand_over``, ``count``, ``move``); ``quantity`` is the number typed for many units at
once; ``pages`` lists them for the menu."""
