# camgate's stand-in for rroller/dahua's models.py, which imports Home Assistant: rpc2.py imports one class
# from it that the calls camgate's tests make never use.
class CoaxialControlIOStatus:
    def __init__(self, response):
        self.response = response
