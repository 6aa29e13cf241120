"""bochs"""
